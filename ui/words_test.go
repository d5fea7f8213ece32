//go:build screenshots

package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"sikkermail/assets"
	"sikkermail/internal/config"
	"sikkermail/internal/i18n"
)

// Every screen, walked in Danish and in English as the screenshots walk
// them, shows only words of its own language's catalogue, besides the
// demo's data (names, subjects, mail text) and what is the same in any
// language (addresses, numbers, protocol names). A word of the other
// language's catalogue, or one that is in neither, fails the test with
// the screen and the text it stands in.
func TestEveryWordInCatalogue(t *testing.T) {
	vocab := map[i18n.Lang]map[string]bool{i18n.Danish: catalogueWords(t, "da"), i18n.English: catalogueWords(t, "en")}
	t.Cleanup(func() { SetLanguage(i18n.Danish) })
	for _, l := range []i18n.Lang{i18n.Danish, i18n.English} {
		other := i18n.English
		if l == i18n.English {
			other = i18n.Danish
		}
		t.Run(string(l), func(t *testing.T) {
			cfg := config.Demo()
			cfg.Language = string(l)
			u := newTestUI(t, cfg)
			if err := SetLanguage(l); err != nil {
				t.Fatal(err)
			}
			runWorker(t, u)
			u.FillDemo()
			data := demoDataWords(t, u)
			screens := 0
			err := u.walkScreens(func(w fyne.Window, name string) error {
				screens++
				texts := shownTexts(w)
				for i, text := range texts {
					for _, word := range words(text) {
						switch {
						case vocab[l][word] || data[word] || neutral(word) || brokenWord(texts, i, word, vocab[l]):
						case vocab[other][word]:
							t.Errorf("%s: %q is %s, in %q", name, word, other, text)
						default:
							t.Errorf("%s: %q is in no catalogue, in %q", name, word, text)
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if screens < 13 {
				t.Fatalf("only %d screens walked", screens)
			}
		})
	}
}

// brokenWord reports whether word, in texts[i], is one end of a word of
// vocab broken over two lines (a file name under its icon is broken
// wherever the line ends).
func brokenWord(texts []string, i int, word string, vocab map[string]bool) bool {
	ws := words(texts[i])
	if i+1 < len(texts) && word == ws[len(ws)-1] {
		if next := words(texts[i+1]); len(next) > 0 && vocab[word+next[0]] {
			return true
		}
	}
	if i > 0 && word == ws[0] {
		if prev := words(texts[i-1]); len(prev) > 0 && vocab[prev[len(prev)-1]+word] {
			return true
		}
	}
	return false
}

var wordRE = regexp.MustCompile(`[\p{L}][\p{L}'’-]*[\p{L}]|[\p{L}]`)

// words are the words of s, lower case; a token holding a digit, an @ or
// a dot (addresses, numbers, dates, file names) or a $ (an IMAP keyword)
// is no word.
func words(s string) []string {
	var out []string
	for _, tok := range strings.Fields(s) {
		if strings.ContainsAny(tok, "@./:\\0123456789_$") {
			continue
		}
		for _, w := range wordRE.FindAllString(tok, -1) {
			out = append(out, strings.ToLower(w))
		}
	}
	return out
}

// neutral words are the same in any language: protocol and format names,
// units, the languages' own names.
func neutral(w string) bool {
	return slices.Contains([]string{
		"smtp", "esmtp", "esmtps", "esmtpsa", "imap", "tls", "s", "mime", "cpr", "cvr", "aes", "gcm", "cbc", "rsa", "ecdh", "pdf", "ldap", "ok",
		"b", "kb", "mb", "gb", // sizes, as i18n writes them in both
		"dansk", "english", // each language is offered in its own name
	}, w)
}

// catalogueWords are the words of every message of a language's
// catalogue, the template's fields left out.
func catalogueWords(t *testing.T, lang string) map[string]bool {
	b, err := assets.Translations.ReadFile(assets.TranslationDir + "/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var msgs map[string]string
	if err := json.Unmarshal(b, &msgs); err != nil {
		t.Fatal(err)
	}
	fields := regexp.MustCompile(`{{[^}]*}}`)
	out := map[string]bool{}
	for _, m := range msgs {
		for _, w := range words(fields.ReplaceAllString(m, " ")) {
			out[w] = true
		}
	}
	return out
}

// demoDataWords are the words of what the demo holds and the screens
// show as it is: the mail written, the inbox's mail, the mailboxes and
// people, the drafts the walk makes.
func demoDataWords(t *testing.T, u *UI) map[string]bool {
	ctx := context.Background()
	var texts []string
	cfg := u.core.Config()
	texts = append(texts, u.Compose.Subject.Text, u.Compose.Body.Text, cfg.User.Name, cfg.Policy.HelpdeskContact,
		"Svar til Studievejledningen", "Tak for jeres henvendelse.")
	mbs, err := u.core.Mailboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mbs {
		texts = append(texts, m.Name)
	}
	readable, err := u.core.Readable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range readable {
		list, err := u.core.InboxList(ctx, m.Address)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range list {
			texts = append(texts, msg.FromName, msg.Subject)
			opened, err := u.core.InboxOpen(ctx, m.Address, msg.UID)
			if err != nil {
				t.Fatal(err)
			}
			if opened.Content != nil {
				texts = append(texts, opened.Content.Text)
				for _, a := range opened.Content.Attachments {
					texts = append(texts, a.Name)
				}
			}
			for _, s := range opened.Report.Signers {
				texts = append(texts, s.Subject, s.Issuer)
			}
		}
	}
	// The people the directories and Digital Post name for the demo's
	// recipients.
	for _, v := range u.core.Check(ctx, append(strings.Split(demoRecipients.emails, "\n"), strings.Split(demoRecipients.numbers, "\n")...)) {
		texts = append(texts, v.Name)
		for _, c := range v.Certs {
			texts = append(texts, c.Subject.CommonName, strings.Join(c.Subject.Organization, " "))
		}
	}
	// The file dialog shows the folder it opens in (the home folder): its
	// path and what it holds.
	if home, err := os.UserHomeDir(); err == nil {
		texts = append(texts, strings.ReplaceAll(home, string(filepath.Separator), " "))
		entries, _ := os.ReadDir(home)
		for _, e := range entries {
			texts = append(texts, strings.NewReplacer(".", " ", "_", " ", "-", " ").Replace(e.Name()))
		}
	}
	out := map[string]bool{}
	for _, s := range texts {
		for _, w := range words(s) {
			out[w] = true
		}
	}
	if len(out) < 20 {
		t.Fatalf("the demo's data has only %d words: %v", len(out), fmt.Sprint(out))
	}
	return out
}
