package gateway

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"

	"sikkermail/internal/core"
	"sikkermail/internal/message"
	"sikkermail/internal/smime"
)

// SubmitMail is the first part of a submit: the mail without its
// attachments, which follow as parts of their own.
type SubmitMail struct {
	// MessageID is chosen by the client (<unique@domain>): a submit sent
	// again, its answer lost, is the same mail.
	MessageID string                    `json:"message_id"`
	Mailbox   string                    `json:"mailbox"`
	To        []string                  `json:"to"`
	Cc        []string                  `json:"cc,omitempty"`
	Subject   string                    `json:"subject"`
	Body      string                    `json:"body"`
	Attention map[string]core.Attention `json:"attention,omitempty"`
}

// Submitted is the answer to a submit: the mail is in the outbox.
type Submitted struct {
	ID        int64  `json:"id"`
	MessageID string `json:"message_id"`
}

// LimitsView is how large a submit may be, said before the upload: the
// largest mail by channel (signed and encrypted), and recipients.
type LimitsView struct {
	Email       int64 `json:"email"`
	DigitalPost int64 `json:"digitalpost"`
	Recipients  int   `json:"recipients"`
	// Upload is the largest request body a submit may have.
	Upload int64 `json:"upload"`
}

func limitsView(c *core.Core) LimitsView {
	l := c.Limits()
	// The mail as sent is the attachments in base64 (4/3), signed and
	// encrypted: what is uploaded raw is smaller than the limit.
	return LimitsView{Email: l.Email, DigitalPost: l.DigitalPost, Recipients: l.Recipients, Upload: max(l.Email, l.DigitalPost) + 1<<20}
}

// submit reads a multipart/form-data body as it arrives: the part
// "mail" (SubmitMail as JSON) first, then a part "attachment" per file.
// A body larger than the limits said is cut off and refused; nothing is
// queued unless the whole mail arrived and the core took it.
func (s *Server) submit(w http.ResponseWriter, r *http.Request, c *core.Core) error {
	var m SubmitMail
	files, err := s.readParts(w, r, c, "mail", &m)
	if err != nil {
		return err
	}
	q, err := c.Submit(r.Context(), message.Draft{Subject: m.Subject, Body: m.Body, Attachments: files}, m.Mailbox,
		core.Recipients{To: m.To, Cc: m.Cc, Attention: m.Attention}, m.MessageID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, Submitted{ID: q.ID, MessageID: q.MessageID})
	return nil
}

// readParts reads a body as it arrives, under the upload limit: the
// part named first (JSON into v) first, then a part "attachment" per
// file. A body larger than the limit is cut off and refused.
func (s *Server) readParts(w http.ResponseWriter, r *http.Request, c *core.Core, first string, v any) ([]message.Attachment, error) {
	limit := limitsView(c).Upload
	if r.ContentLength > limit {
		return nil, &Error{Reason: TooLarge, Size: r.ContentLength, Max: limit}
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := s.multipart(r, limit)
	if err != nil {
		return nil, err
	}
	var files []message.Attachment
	seen := false
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, readError(err, limit)
		}
		switch {
		case p.FormName() == first && !seen:
			seen = true
			dec := json.NewDecoder(p)
			dec.DisallowUnknownFields()
			if err := dec.Decode(v); err != nil {
				return nil, readError(err, limit)
			}
		case p.FormName() == "attachment" && seen:
			name := p.FileName()
			if strings.TrimSpace(name) == "" {
				return nil, &Error{Reason: BadRequest, Detail: "an attachment without a file name"}
			}
			data, err := io.ReadAll(p)
			if err != nil {
				return nil, readError(err, limit)
			}
			files = append(files, message.Attachment{Name: name, Data: data})
		default:
			return nil, &Error{Reason: BadRequest, Detail: "unexpected part " + p.FormName()}
		}
	}
	if !seen {
		return nil, &Error{Reason: BadRequest, Detail: "no part " + first}
	}
	return files, nil
}

// multipart reads a submit's body: multipart/form-data, or the same
// sealed to the gateway's sealing certificate (application/pkcs7-mime:
// CMS enveloped data whose content is the multipart entity with its
// Content-Type), as a client that kept the mail while the gateway could
// not be reached sends it.
func (s *Server) multipart(r *http.Request, limit int64) (*multipart.Reader, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, &Error{Reason: BadRequest, Detail: err.Error()}
		}
		return mr, nil
	case "application/pkcs7-mime":
		if s.sealingIDs() == nil {
			return nil, &Error{Reason: BadRequest, Detail: "this gateway has no sealing certificate"}
		}
		der, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, readError(err, limit)
		}
		d, err := s.unseal(der)
		if err != nil {
			return nil, err
		}
		tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(d.Content)))
		h, err := tr.ReadMIMEHeader()
		if err != nil {
			return nil, &Error{Reason: BadRequest, Detail: "sealed: " + err.Error()}
		}
		inner, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
		if inner != "multipart/form-data" || params["boundary"] == "" {
			return nil, &Error{Reason: BadRequest, Detail: "sealed: not multipart/form-data"}
		}
		return multipart.NewReader(tr.R, params["boundary"]), nil
	}
	return nil, &Error{Reason: BadRequest, Detail: "a submit is multipart/form-data"}
}

// unseal opens what a client sealed to the sealing certificate, or to
// one it replaced.
func (s *Server) unseal(der []byte) (*smime.Decrypted, error) {
	for i, id := range s.sealingIDs() {
		d, err := smime.Decrypt(der, id.Cert, id.Key)
		var se *smime.Error
		if errors.As(err, &se) && se.Reason == smime.NotForUs {
			continue
		}
		if err == nil && i > 0 {
			// For IT: the former identity is still needed.
			log.Printf("sikkermail-gateway: opened what a PC sealed to the former sealing certificate %q (serial %x): keep it in [[server.sealed_before]]",
				id.Cert.Subject.CommonName, id.Cert.SerialNumber)
		}
		return d, err
	}
	return nil, &Error{Reason: SealedForOther}
}

// sealingCertificate answers the certificate clients seal to.
func (s *Server) sealingCertificate(w http.ResponseWriter, r *http.Request, _ *core.Core) error {
	ids := s.sealingIDs()
	if ids == nil {
		return &Error{Reason: NotFound, Detail: "the sealing certificate"}
	}
	writeJSON(w, http.StatusOK, SealingView{Certificate: base64.StdEncoding.EncodeToString(ids[0].Cert.Raw)})
	return nil
}

// SealingView is the gateway's sealing certificate, DER in base64.
type SealingView struct {
	Certificate string `json:"certificate"`
}

// readError is a body that could not be read: too large, or broken.
func readError(err error, limit int64) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return &Error{Reason: TooLarge, Max: limit}
	}
	return &Error{Reason: BadRequest, Detail: err.Error()}
}
