package ui

// FillDemo puts a demo mail into the compose window. The screenshots call
// it before the window is first shown, so that the first frame has it.
func (u *UI) FillDemo() {
	u.Compose.Subject.SetText("Journalnotat vedr. praktikforløb")
	u.Compose.Body.SetText("Kære Jens\n\nHermed journalnotatet fra mødet i går, som aftalt.\n\nVenlig hilsen\nStudieservice")
}
