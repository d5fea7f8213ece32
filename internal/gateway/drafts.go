package gateway

import (
	"net/http"
	"time"

	"sikkermail/internal/core"
	"sikkermail/internal/message"
)

// A user's drafts are kept at the gateway, sealed at rest, each user's
// own: the PC holds none it could read (a draft saved while the gateway
// is away waits there sealed to the gateway, as a mail does), and a
// draft begun on one PC opens on another.

// DraftInfoView names a kept draft in the list.
type DraftInfoView struct {
	ID          string    `json:"id"`
	Subject     string    `json:"subject"`
	Saved       time.Time `json:"saved"`
	Attachments int       `json:"attachments"`
}

// DraftBody is the first part of a draft put: the draft without its
// attachments, which follow as parts of their own.
type DraftBody struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// DraftView is a kept draft, whole.
type DraftView struct {
	ID          string           `json:"id"`
	Subject     string           `json:"subject"`
	Body        string           `json:"body"`
	Attachments []AttachmentView `json:"attachments"`
}

// AttachmentView is a file of a draft; Data is base64 in JSON.
type AttachmentView struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type,omitempty"`
	Data        []byte `json:"data"`
}

func (s *Server) drafts(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	list, err := c.Drafts(r.Context())
	if err != nil {
		return err
	}
	out := []DraftInfoView{}
	for _, d := range list {
		out = append(out, DraftInfoView{ID: d.ID, Subject: d.Subject, Saved: d.Saved, Attachments: d.Attachments})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) draftGet(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	id := r.PathValue("id")
	d, err := c.OpenDraft(r.Context(), id)
	if err != nil {
		return err
	}
	out := DraftView{ID: id, Subject: d.Subject, Body: d.Body, Attachments: []AttachmentView{}}
	for _, a := range d.Attachments {
		out.Attachments = append(out.Attachments, AttachmentView{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// draftPut keeps the draft under the id the client chose (so that a
// draft kept on the PC while the gateway was away keeps its id): the
// part "draft" (DraftBody), then a part "attachment" per file, as a
// submit, sealed to the gateway or not.
func (s *Server) draftPut(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	var d DraftBody
	files, err := s.readParts(w, r, c, "draft", &d)
	if err != nil {
		return err
	}
	if _, err := c.SaveDraft(r.Context(), r.PathValue("id"), message.Draft{Subject: d.Subject, Body: d.Body, Attachments: files}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) draftDelete(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	if err := c.DeleteDraft(r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
