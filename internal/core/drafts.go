package core

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
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
	args := map[string]any{"File": e.File}
	if e.Reason == DraftTooMany {
		args = map[string]any{"Max": MaxDrafts}
	}
	return i18n.Message{Key: "draft." + string(e.Reason), Args: args}
}

// MaxDrafts is how many drafts a user keeps at most: at the gateway,
// one user cannot fill the institution's database with them.
const MaxDrafts = 200

// Drafts live beside the database on one PC; at the gateway, in the
// database with the mails' files (every instance reads them), under the
// user's own key, so that a user sees and opens their own alone (in a
// folder of the user's own at a gateway on SQLite, the demo's).

func (c *Core) draftsDir() string {
	dir := c.dbPath + ".drafts"
	if c.caller {
		sum := sha256.Sum256([]byte(strings.ToLower(c.User())))
		dir = filepath.Join(dir, hex.EncodeToString(sum[:16]))
	}
	return dir
}

// draftsKey is where the user's drafts are in the database.
func (c *Core) draftsKey() string { return "drafts:" + strings.ToLower(c.User()) }

const draftSuffix = ".draft"

// draftName names the draft id in errors: its file on one PC; to one of
// the gateway's callers, who has no file there to see, its id. An id
// that is not one of ours is refused.
func (c *Core) draftName(id string) (string, error) {
	if !ValidDraftID(id) {
		return "", &DraftError{Reason: DraftUnreadable, File: id, Err: errors.New("not a draft name")}
	}
	if c.caller || c.outbox.FilesInDatabase() {
		return id, nil
	}
	return c.draftFile(id), nil
}

// NewDraftID is a new draft's id: 32 random lowercase hex digits.
func NewDraftID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ValidDraftID reports whether id is a draft's id, as NewDraftID makes
// them: nothing else names a file or a row.
func ValidDraftID(id string) bool {
	return len(id) == 32 && strings.Trim(id, "0123456789abcdef") == ""
}

// draftFile is the file of the draft id, when drafts are files.
func (c *Core) draftFile(id string) string { return filepath.Join(c.draftsDir(), id+draftSuffix) }

// writeDraft keeps the draft id, sealed with keys, with what write gives.
func (c *Core) writeDraft(ctx context.Context, id string, keys *sealed.Keys, write func(io.Writer) error) error {
	name, err := c.draftName(id)
	if err != nil {
		return err
	}
	if c.outbox.FilesInDatabase() {
		return writeFile(name, func() (*sealed.File, error) {
			return keys.CreateIn(c.outbox.CreateFile(ctx, c.draftsKey(), id+draftSuffix))
		}, write)
	}
	if err := os.MkdirAll(c.draftsDir(), 0o700); err != nil {
		return &FileError{File: c.draftsDir(), Err: err}
	}
	return writeSealed(c.draftFile(id), keys, write)
}

// openDraft opens the draft id with keys.
func (c *Core) openDraft(ctx context.Context, id string, keys *sealed.Keys) (*sealedFile, error) {
	name, err := c.draftName(id)
	if err != nil {
		return nil, err
	}
	if c.outbox.FilesInDatabase() {
		return c.openDBFile(ctx, c.draftsKey(), id+draftSuffix, name, keys)
	}
	return openSealed(c.draftFile(id), keys)
}

// keptDrafts are the ids of the user's drafts, each with when its file
// was last written (on one PC; the zero time in the database).
func (c *Core) keptDrafts(ctx context.Context) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if c.outbox.FilesInDatabase() {
		names, err := c.outbox.FileNames(ctx, c.draftsKey())
		if err != nil {
			return nil, &FileError{File: c.storeName(), Err: err}
		}
		for _, n := range names {
			if id, ok := strings.CutSuffix(n, draftSuffix); ok {
				out[id] = time.Time{}
			}
		}
		return out, nil
	}
	entries, err := os.ReadDir(c.draftsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &FileError{File: c.draftsDir(), Err: err}
	}
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), draftSuffix); ok {
			var mod time.Time
			if st, err := e.Info(); err == nil {
				mod = st.ModTime()
			}
			out[id] = mod
		}
	}
	return out, nil
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
		e := &DraftError{Reason: DraftNoKey}
		if !c.caller {
			e.File = c.draftsDir()
		}
		return nil, e
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
		id = NewDraftID()
	}
	if _, err := c.draftName(id); err != nil {
		return "", err
	}
	kept, err := c.keptDrafts(ctx)
	if err != nil {
		return "", err
	}
	if _, ok := kept[id]; !ok && len(kept) >= MaxDrafts {
		return "", &DraftError{Reason: DraftTooMany, File: id}
	}
	keys := &sealed.Keys{Cert: ids[0].Cert}
	for _, other := range ids[1:] {
		keys.Also = append(keys.Also, other.Cert)
	}
	err = c.writeDraft(ctx, id, keys, func(w io.Writer) error {
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
	name, err := c.draftName(id)
	if err != nil {
		return message.Draft{}, err
	}
	ids, err := c.draftKeys(ctx)
	var de *DraftError
	if errors.As(err, &de) && de.Reason == DraftNoKey {
		// No key to open it with, as the sentence for opening says.
		return message.Draft{}, &DraftError{Reason: DraftUnreadable, File: name, Err: err}
	}
	if err != nil {
		return message.Draft{}, err
	}
	k, err := c.readDraft(ctx, id, ids)
	if err != nil {
		return message.Draft{}, err
	}
	return k.Draft, nil
}

// readDraft opens the draft id with whichever of ids opens it.
func (c *Core) readDraft(ctx context.Context, id string, ids []*smime.Identity) (*keptDraft, error) {
	name, err := c.draftName(id)
	if err != nil {
		return nil, err
	}
	var last error
	for _, identity := range ids {
		f, err := c.openDraft(ctx, id, c.keys(identity))
		if err != nil {
			last = err
			continue
		}
		var k keptDraft
		err = gob.NewDecoder(f).Decode(&k)
		f.Close()
		if err != nil {
			return nil, &DraftError{Reason: DraftUnreadable, File: name, Err: err}
		}
		return &k, nil
	}
	return nil, &DraftError{Reason: DraftUnreadable, File: name, Err: last}
}

// Drafts lists the kept drafts, the newest first. One that no key here
// opens is listed by its time alone.
func (c *Core) Drafts(ctx context.Context) ([]DraftInfo, error) {
	kept, err := c.keptDrafts(ctx)
	if err != nil || len(kept) == 0 {
		return nil, err
	}
	// The keys once for all the drafts; none here leaves each listed by
	// its time alone.
	ids, _ := c.draftKeys(ctx)
	var out []DraftInfo
	for id, mod := range kept {
		info := DraftInfo{ID: id, Saved: mod}
		if k, err := c.readDraft(ctx, id, ids); err == nil {
			info.Subject, info.Saved, info.Attachments = k.Draft.Subject, k.Saved, len(k.Draft.Attachments)
		}
		out = append(out, info)
	}
	SortDrafts(out)
	return out, nil
}

// SortDrafts puts a list of drafts in its order: the newest first.
func SortDrafts(ds []DraftInfo) {
	slices.SortFunc(ds, func(a, b DraftInfo) int {
		return cmp.Or(b.Saved.Compare(a.Saved), strings.Compare(a.ID, b.ID))
	})
}

// DeleteDraft removes a kept draft (sent, or discarded by the user).
func (c *Core) DeleteDraft(id string) error {
	name, err := c.draftName(id)
	if err != nil {
		return err
	}
	if c.outbox.FilesInDatabase() {
		err = c.outbox.RemoveFile(context.Background(), c.draftsKey(), id+draftSuffix)
	} else if err = os.Remove(c.draftFile(id)); errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if err != nil {
		return &FileError{File: name, Err: err}
	}
	return nil
}
