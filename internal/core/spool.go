package core

// The outbox's files: the draft and the built messages, sealed for the
// mailbox's certificate and streamed, never whole in memory.

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"io"
	"path/filepath"

	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/sealed"
	"sikkermail/internal/smime"
)

// sealedDraft is what SendTo seals in the outbox: the composed mail, the
// recipients as typed, and attention data.
type sealedDraft struct {
	Draft     message.Draft
	To, Cc    []string
	Attention map[string]Attention
	// Files: the attachments' bytes are in the mail's fileAttachments,
	// one after the other, not in Draft (mails queued before the files
	// hold them here).
	Files bool
}

// spoolFile is the path of one of the mail's files.
func (c *Core) spoolFile(m *outbox.Mail, name string) (string, error) {
	dir, err := c.outbox.Files(m.MessageID)
	if err != nil {
		return "", &outbox.WriteError{File: dir, Err: err}
	}
	return filepath.Join(dir, name), nil
}

// spoolAttachments writes the draft's attachments, one after the other,
// sealed, to the mail's files, and leaves in sd only their names and
// sizes. A file that cannot be written is a mail not queued.
func (c *Core) spoolAttachments(ctx context.Context, m *outbox.Mail, id *smime.Identity, sd *sealedDraft) error {
	if len(sd.Draft.Attachments) == 0 {
		return nil
	}
	err := c.writeMailFile(ctx, m, fileAttachments, c.keys(id), func(w io.Writer) error {
		for _, a := range sd.Draft.Attachments {
			if err := message.WriteContent(w, a); err != nil {
				return err
			}
		}
		return nil
	})
	var we *outbox.WriteError
	if errors.As(err, &we) {
		we.NotQueued = true
		return we
	}
	if err != nil {
		return err
	}
	as := make([]message.Attachment, len(sd.Draft.Attachments))
	for i, a := range sd.Draft.Attachments {
		as[i] = message.Attachment{Name: a.Name, ContentType: a.ContentType, Size: a.Len()}
	}
	sd.Draft.Attachments, sd.Files = as, true
	return nil
}

// writeMailFile writes one of the mail's files, sealed with keys, with
// what write gives it: in the database at the gateway, where every
// instance reads it, else in the outbox's folder.
func (c *Core) writeMailFile(ctx context.Context, m *outbox.Mail, name string, keys *sealed.Keys, write func(io.Writer) error) error {
	if !c.outbox.FilesInDatabase() {
		path, err := c.spoolFile(m, name)
		if err != nil {
			return err
		}
		return writeSealed(path, keys, write)
	}
	return writeFile(c.mailFileName(name), func() (*sealed.File, error) {
		return keys.CreateIn(c.outbox.CreateFile(ctx, m.MessageID, name))
	}, write)
}

// openMailFile opens one of the mail's files, as writeMailFile wrote it.
func (c *Core) openMailFile(ctx context.Context, m *outbox.Mail, name string, keys *sealed.Keys) (*sealedFile, error) {
	if !c.outbox.FilesInDatabase() {
		path, err := c.spoolFile(m, name)
		if err != nil {
			return nil, err
		}
		return openSealed(path, keys)
	}
	return c.openDBFile(ctx, m.MessageID, name, c.mailFileName(name), keys)
}

// openDBFile opens the sealed file name kept under key in the database,
// told as where in errors.
func (c *Core) openDBFile(ctx context.Context, key, name, where string, keys *sealed.Keys) (*sealedFile, error) {
	r, size, err := c.outbox.OpenFile(ctx, key, name)
	if err != nil {
		return nil, &FileError{File: where, Err: err}
	}
	o, err := keys.OpenFrom(r, size, r)
	if err != nil {
		r.Close()
		return nil, &FileError{File: where, Err: err}
	}
	return &sealedFile{o, where}, nil
}

// mailFileName names one of a mail's files in the database, for errors.
func (c *Core) mailFileName(name string) string { return c.storeName() + ": " + name }

// writeSealed writes the file at path, sealed for the mailbox, with
// what write gives it; the file is there, whole, only if all went well.
// An error of the file's own is a *outbox.WriteError.
func writeSealed(path string, keys *sealed.Keys, write func(io.Writer) error) error {
	return writeFile(path, func() (*sealed.File, error) { return keys.Create(path) }, write)
}

// writeFile writes the sealed file that create starts, named name in
// errors.
func writeFile(name string, create func() (*sealed.File, error), write func(io.Writer) error) error {
	f, err := create()
	if err != nil {
		return &outbox.WriteError{File: name, Err: err}
	}
	fw := &fileWriter{w: f, path: name}
	if err := write(fw); err != nil {
		f.Abort()
		if fw.err != nil {
			return fw.err
		}
		return err
	}
	if err := f.Close(); err != nil {
		return &outbox.WriteError{File: name, Err: err}
	}
	return nil
}

// fileWriter tells its own write errors from its source's.
type fileWriter struct {
	w    io.Writer
	path string
	err  error
}

func (f *fileWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		f.err = &outbox.WriteError{File: f.path, Err: err}
		return n, f.err
	}
	return n, nil
}

// openSealed opens one of the mail's files. What goes wrong while it is
// read is a *FileError that names it.
func openSealed(path string, keys *sealed.Keys) (*sealedFile, error) {
	o, err := keys.Open(path)
	if err != nil {
		return nil, &FileError{File: path, Err: err}
	}
	return &sealedFile{o, path}, nil
}

type sealedFile struct {
	*sealed.Opened
	path string
}

func (f *sealedFile) Read(p []byte) (int, error) {
	n, err := f.Opened.Read(p)
	if err != nil && err != io.EOF {
		err = &FileError{File: f.path, Err: err}
	}
	return n, err
}

// unsealDraft opens what SendTo sealed; a mail queued before recipients
// were sealed holds the draft alone, its recipients in the outbox. The
// attachments of a draft with files are streams, to be read once, in
// order, before close is called.
func (c *Core) unsealDraft(ctx context.Context, id *smime.Identity, m *outbox.Mail) (sd *sealedDraft, close func(), err error) {
	var s sealedDraft
	if err := unseal(id, m.Content, &s); err != nil || len(s.To)+len(s.Cc) == 0 {
		s = sealedDraft{To: m.Recipients, Cc: m.Cc}
		if err := unseal(id, m.Content, &s.Draft); err != nil {
			return nil, nil, err
		}
	}
	if !s.Files || len(s.Draft.Attachments) == 0 {
		return &s, func() {}, nil
	}
	f, err := c.openMailFile(ctx, m, fileAttachments, c.keys(id))
	if err != nil {
		return nil, nil, err
	}
	for i := range s.Draft.Attachments {
		s.Draft.Attachments[i].Open = func() (io.ReadCloser, error) { return io.NopCloser(f), nil }
	}
	return &s, func() { f.Close() }, nil
}

// loadAttachments reads a draft's streamed attachments into memory, for
// the Digital Post letters (which carry them whole, within that
// channel's smaller limit).
func loadAttachments(d *message.Draft) error {
	for i, a := range d.Attachments {
		if a.Data != nil || a.Open == nil {
			continue
		}
		var b bytes.Buffer
		b.Grow(int(a.Size))
		if err := message.WriteContent(&b, a); err != nil {
			return err
		}
		d.Attachments[i].Data, d.Attachments[i].Open = b.Bytes(), nil
	}
	return nil
}

// keys seals the mail's files for the mailbox's identity and opens them,
// one private-key operation per file at most.
func (c *Core) keys(id *smime.Identity) *sealed.Keys {
	c.idMu.Lock()
	defer c.idMu.Unlock()
	if k, ok := c.sealKeys[id]; ok {
		return k
	}
	if c.sealKeys == nil {
		c.sealKeys = map[*smime.Identity]*sealed.Keys{}
	}
	k := &sealed.Keys{Cert: id.Cert, Key: id.Key}
	c.sealKeys[id] = k
	return k
}

// seal encodes v (gob: large byte slices stay binary) and encrypts it at
// rest for the mailbox's own certificate: drafts and built mails in the
// outbox are never plaintext on disk.
func seal(id *smime.Identity, v any) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return smime.Encrypt(b.Bytes(), []smime.Recipient{{Cert: id.Cert}}, smime.AES256GCM)
}

// unseal decrypts what seal made into v.
func unseal(id *smime.Identity, sealed []byte, v any) error {
	d, err := smime.Decrypt(sealed, id.Cert, id.Key)
	if err != nil {
		return err
	}
	return gob.NewDecoder(bytes.NewReader(d.Content)).Decode(v)
}

// The files of a mail on its way, each sealed for the mailbox: the
// attachments as queued, the entity while it is built, and the two
// messages as they go out.
const (
	fileAttachments = "attachments"
	fileEntity      = "entity"
	fileExternal    = "external.eml"
	fileInternal    = "internal.eml"
)
