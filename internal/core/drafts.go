package core

import (
	"context"
	"crypto/rand"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sikkermail/internal/i18n"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/sealed"
	"sikkermail/internal/smime"
)

// Drafts are the mails being written, kept so that a draft survives
// closing the program and a crash: each in its own file beside the
// database, sealed (never plaintext on disk) for the certificates of
// every secure mailbox the user may send from, so that the key of any
// of them opens it.

// DraftInfo names a kept draft in a list.
type DraftInfo struct {
	ID          string
	Subject     string
	Saved       time.Time
	Attachments int
}

// keptDraft is what a draft's file holds.
type keptDraft struct {
	Draft message.Draft
	Saved time.Time
}

// DraftError is a draft that cannot be kept or opened.
type DraftError struct {
	// Reason is no_key (no mailbox the user may send from has its
	// certificate here) or unreadable (none of them opens it).
	Reason DraftReason
	File   string
	Err    error
}

func (e *DraftError) Error() string {
	return fmt.Sprintf("core: draft %s: %s: %v", e.File, e.Reason, e.Err)
}
func (e *DraftError) Unwrap() error { return e.Err }

// Localize names the sentence for a user.
func (e *DraftError) Localize() i18n.Message {
	return i18n.Message{Key: "draft." + string(e.Reason), Args: map[string]any{"File": e.File}}
}

func (c *Core) draftsDir() string { return c.dbPath + ".drafts" }

func (c *Core) draftPath(id string) (string, error) {
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", &DraftError{Reason: DraftUnreadable, File: id, Err: errors.New("not a draft name")}
	}
	return filepath.Join(c.draftsDir(), id+".draft"), nil
}

// draftKeys seals drafts for every mailbox the user may send from whose
// identity is here, and opens them with any of those keys.
func (c *Core) draftKeys(ctx context.Context) ([]*smime.Identity, error) {
	choices, err := c.Mailboxes(ctx)
	if err != nil {
		return nil, err
	}
	var ids []*smime.Identity
	for _, m := range choices {
		if !m.CanSend || m.Identity == "" {
			continue
		}
		if id, err := c.identity(ctx, m.Address); err == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, &DraftError{Reason: DraftNoKey, File: c.draftsDir()}
	}
	return ids, nil
}

// SaveDraft keeps the draft under id ("" for a new one) and returns its
// id. The file is replaced whole or not at all.
func (c *Core) SaveDraft(ctx context.Context, id string, d message.Draft) (string, error) {
	ids, err := c.draftKeys(ctx)
	if err != nil {
		return "", err
	}
	if id == "" {
		var b [16]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	path, err := c.draftPath(id)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(c.draftsDir(), 0o700); err != nil {
		return "", &FileError{File: c.draftsDir(), Err: err}
	}
	keys := &sealed.Keys{Cert: ids[0].Cert}
	for _, other := range ids[1:] {
		keys.Also = append(keys.Also, other.Cert)
	}
	err = writeSealed(path, keys, func(w io.Writer) error {
		return gob.NewEncoder(w).Encode(keptDraft{Draft: d, Saved: c.now()})
	})
	var we *outbox.WriteError
	if errors.As(err, &we) {
		return "", &FileError{File: we.File, Err: we.Err}
	}
	return id, err
}

// OpenDraft returns a kept draft.
func (c *Core) OpenDraft(ctx context.Context, id string) (message.Draft, error) {
	path, err := c.draftPath(id)
	if err != nil {
		return message.Draft{}, err
	}
	ids, err := c.draftKeys(ctx)
	if err != nil {
		return message.Draft{}, err
	}
	k, err := c.readDraft(path, ids)
	if err != nil {
		return message.Draft{}, err
	}
	return k.Draft, nil
}

// readDraft opens the draft at path with whichever of ids opens it.
func (c *Core) readDraft(path string, ids []*smime.Identity) (*keptDraft, error) {
	var last error
	for _, identity := range ids {
		f, err := openSealed(path, c.keys(identity))
		if err != nil {
			last = err
			continue
		}
		var k keptDraft
		err = gob.NewDecoder(f).Decode(&k)
		f.Close()
		if err != nil {
			return nil, &DraftError{Reason: DraftUnreadable, File: path, Err: err}
		}
		return &k, nil
	}
	return nil, &DraftError{Reason: DraftUnreadable, File: path, Err: last}
}

// Drafts lists the kept drafts, the newest first. One that no key here
// opens is listed with its file name as its subject.
func (c *Core) Drafts(ctx context.Context) ([]DraftInfo, error) {
	entries, err := os.ReadDir(c.draftsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &FileError{File: c.draftsDir(), Err: err}
	}
	// The keys once for all the drafts; none here leaves each listed by
	// its time alone.
	ids, _ := c.draftKeys(ctx)
	var out []DraftInfo
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".draft")
		if !ok {
			continue
		}
		info := DraftInfo{ID: id}
		if k, err := c.readDraft(filepath.Join(c.draftsDir(), e.Name()), ids); err == nil {
			info.Subject, info.Saved, info.Attachments = k.Draft.Subject, k.Saved, len(k.Draft.Attachments)
		} else if st, err := e.Info(); err == nil {
			info.Saved = st.ModTime()
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b DraftInfo) int { return b.Saved.Compare(a.Saved) })
	return out, nil
}

// DeleteDraft removes a kept draft (sent, or discarded by the user).
func (c *Core) DeleteDraft(id string) error {
	path, err := c.draftPath(id)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return &FileError{File: path, Err: err}
	}
	return nil
}
