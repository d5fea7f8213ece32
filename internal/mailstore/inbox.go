package mailstore

import (
	"bytes"
	"context"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Summary is one message in a folder, as a list shows it: fetched
// without the body.
type Summary struct {
	UID uint32
	// From is the first From address, Name its display name.
	From, FromName string
	Subject        string
	Date           time.Time
	Size           int64
	// ContentType is the media type of the message as a whole, and
	// SMIMEType its smime-type parameter: what the list's security badge
	// is drawn from before the message is opened.
	ContentType, SMIMEType string
	Flags                  []string
	// Fields are the header fields ListFolder was asked for, by name as
	// asked, on the messages that have them.
	Fields map[string]string
}

// Has reports whether the message carries flag (a system flag such as
// \Seen, or a keyword such as $Behandlet).
func (s Summary) Has(flag string) bool {
	return slices.ContainsFunc(s.Flags, func(f string) bool { return strings.EqualFold(f, flag) })
}

// maxList bounds how many messages List returns: the newest.
const maxList = 1000

// List returns the newest messages of folder (at most 1000), newest
// first.
func (s Server) List(ctx context.Context, acc Account, folder string) ([]Summary, error) {
	l, err := s.ListFolder(ctx, acc, folder)
	return l.Messages, err
}

// Listing is a folder's newest messages, and the flags the server keeps
// on them.
type Listing struct {
	Messages []Summary
	// PermanentFlags are the flags a client can set for good; \* among
	// them means any keyword (Exchange Online takes none of its own).
	PermanentFlags []string
}

// Keyword reports whether the folder keeps the keyword.
func (l Listing) Keyword(k string) bool {
	return slices.ContainsFunc(l.PermanentFlags, func(f string) bool { return f == `\*` || strings.EqualFold(f, k) })
}

// ListFolder is List with the folder's permanent flags, and the header
// fields named in fields on each message. It selects the folder
// read-write, as only that tells them (EXAMINE tells none), and changes
// nothing: the messages are fetched with PEEK.
func (s Server) ListFolder(ctx context.Context, acc Account, folder string, fields ...string) (Listing, error) {
	var out []Summary
	var perm []string
	err := s.session(ctx, acc, func(c *imapclient.Client) error {
		sel, err := c.Select(folder, nil).Wait()
		if err != nil {
			return err
		}
		for _, f := range sel.PermanentFlags {
			perm = append(perm, string(f))
		}
		if sel.NumMessages == 0 {
			return nil
		}
		first := uint32(1)
		if sel.NumMessages > maxList {
			first = sel.NumMessages - maxList + 1
		}
		var seq imap.SeqSet
		seq.AddRange(first, sel.NumMessages)
		ct := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: append([]string{"Content-Type"}, fields...), Peek: true}
		msgs, err := c.Fetch(seq, &imap.FetchOptions{UID: true, Envelope: true, Flags: true, RFC822Size: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{ct}}).Collect()
		if err != nil {
			return err
		}
		for _, m := range slices.Backward(msgs) {
			sum := Summary{UID: uint32(m.UID), Size: m.RFC822Size, Date: m.InternalDate}
			if e := m.Envelope; e != nil {
				sum.Subject = e.Subject
				if !e.Date.IsZero() {
					sum.Date = e.Date
				}
				if len(e.From) > 0 {
					sum.From, sum.FromName = e.From[0].Addr(), e.From[0].Name
				}
			}
			for _, f := range m.Flags {
				sum.Flags = append(sum.Flags, string(f))
			}
			if h, err := readHeader(m.FindBodySection(ct)); err == nil {
				sum.ContentType, sum.SMIMEType = contentType(h)
				if len(fields) > 0 {
					sum.Fields = headerValues(h, fields)
				}
			}
			out = append(out, sum)
		}
		return nil
	})
	return Listing{Messages: out, PermanentFlags: perm}, s.wrap(err, acc, folder)
}

// readHeader reads a header block as fetched (HEADER.FIELDS).
func readHeader(h []byte) (mail.Header, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(append(bytes.TrimRight(h, "\r\n"), "\r\n\r\n"...)))
	if err != nil {
		return nil, err
	}
	return msg.Header, nil
}

// headerValues are the fields named that h has.
func headerValues(h mail.Header, names []string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		if v := h.Get(n); v != "" {
			out[n] = v
		}
	}
	return out
}

// contentType reads the media type and smime-type from a header.
func contentType(h mail.Header) (string, string) {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return "text/plain", ""
	}
	return mt, strings.ToLower(params["smime-type"])
}

// FetchUID returns one message of folder, whole, without marking it
// seen.
func (s Server) FetchUID(ctx context.Context, acc Account, folder string, uid uint32) ([]byte, error) {
	var out []byte
	err := s.session(ctx, acc, func(c *imapclient.Client) error {
		if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			return err
		}
		msgs, err := bodies(c, imap.UID(uid))
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "no such message"}
		}
		out = msgs[0]
		return nil
	})
	return out, s.wrap(err, acc, folder)
}

// Flag sets (or clears) flag on a message of folder: \Seen, or a keyword
// such as $Behandlet that every reader of a shared mailbox sees.
func (s Server) Flag(ctx context.Context, acc Account, folder string, uid uint32, flag string, set bool) error {
	err := s.session(ctx, acc, func(c *imapclient.Client) error {
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			return err
		}
		op := imap.StoreFlagsAdd
		if !set {
			op = imap.StoreFlagsDel
		}
		return c.Store(imap.UIDSetNum(imap.UID(uid)), &imap.StoreFlags{Op: op, Silent: true, Flags: []imap.Flag{imap.Flag(flag)}}, nil).Close()
	})
	return s.wrap(err, acc, folder)
}

// Remove deletes a message of folder for good (UID EXPUNGE, so that
// no other message marked deleted goes with it).
func (s Server) Remove(ctx context.Context, acc Account, folder string, uid uint32) error {
	err := s.session(ctx, acc, func(c *imapclient.Client) error {
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			return err
		}
		set := imap.UIDSetNum(imap.UID(uid))
		if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			return err
		}
		return c.UIDExpunge(set).Close()
	})
	return s.wrap(err, acc, folder)
}

// Move moves a message of folder to another folder, created when
// missing.
func (s Server) Move(ctx context.Context, acc Account, folder string, uid uint32, to string) error {
	err := s.session(ctx, acc, func(c *imapclient.Client) error {
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			return err
		}
		to, err := ensureFolder(c, to)
		if err != nil {
			return err
		}
		_, err = c.Move(imap.UIDSetNum(imap.UID(uid)), to).Wait()
		return err
	})
	return s.wrap(err, acc, folder)
}

// Marks returns, by UID, the value of the header name on each message of
// folder ("" when it has none): in a secure mailbox's INBOX, which
// messages the gateway's boundary delivered. It changes nothing.
func (s Server) Marks(ctx context.Context, acc Account, folder, name string) (map[uint32]string, error) {
	out := map[uint32]string{}
	err := s.session(ctx, acc, func(c *imapclient.Client) error {
		sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil || sel.NumMessages == 0 {
			return err
		}
		var seq imap.SeqSet
		seq.AddRange(1, sel.NumMessages)
		section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{name}, Peek: true}
		msgs, err := c.Fetch(seq, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			_, v, _ := bytes.Cut(bytes.TrimSpace(m.FindBodySection(section)), []byte(":"))
			out[uint32(m.UID)] = string(bytes.TrimSpace(v))
		}
		return nil
	})
	return out, s.wrap(err, acc, folder)
}
