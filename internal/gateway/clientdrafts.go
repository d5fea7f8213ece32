package gateway

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sikkermail/internal/core"
	"sikkermail/internal/message"
)

// The client keeps its user's drafts at the gateway (PUT
// /v1/drafts/{id}), each sealed to the gateway on the way as a kept mail
// is. One saved while the gateway cannot be reached waits in a folder
// beside the database, sealed as it is sent (the PC cannot read it back),
// and goes at the next call about drafts that reaches the gateway; a
// draft deleted meanwhile leaves a mark there that does the same.

const (
	waitingPut  = ".sealed"
	waitingGone = ".gone"
)

func (c *Client) waitingDir() string { return c.file("gateway-drafts") }

// draftPath is where the draft id waits, as its put or its deletion;
// an id that is not one of ours is refused.
func (c *Client) draftPath(id, what string) (string, error) {
	if !core.ValidDraftID(id) {
		return "", &Error{Reason: NotFound, Detail: id}
	}
	return filepath.Join(c.waitingDir(), id+what), nil
}

// SaveDraft keeps the draft at the gateway under id ("" for a new one)
// and returns its id; while the gateway cannot be reached, it waits here
// sealed to it.
func (c *Client) SaveDraft(ctx context.Context, id string, d message.Draft) (string, error) {
	if id == "" {
		id = core.NewDraftID()
	}
	put, err := c.draftPath(id, waitingPut)
	if err != nil {
		return "", err
	}
	cert, err := c.sealingCertificate(ctx)
	if unreachable(err) {
		return "", &Error{Reason: DraftNotKept, Detail: c.base}
	}
	if err != nil {
		return "", err
	}
	entity, err := multipartEntity("draft", DraftBody{Subject: d.Subject, Body: d.Body}, d.Attachments)
	if err != nil {
		return "", err
	}
	body, err := sealTo(cert, entity)
	if err != nil {
		return "", err
	}
	c.draftMu.Lock()
	defer c.draftMu.Unlock()
	err = c.putDraft(ctx, id, body)
	if unreachable(err) {
		if err := c.wait(put, body); err != nil {
			return "", err
		}
		os.Remove(filepath.Join(c.waitingDir(), id+waitingGone))
		return id, nil
	}
	if err != nil {
		return "", err
	}
	os.Remove(put) // an older version that waited
	c.sendWaiting(ctx)
	return id, nil
}

func (c *Client) putDraft(ctx context.Context, id string, sealed []byte) error {
	return c.do(ctx, "PUT", "/v1/drafts/"+id, bytes.NewReader(sealed), "application/pkcs7-mime", nil)
}

// wait writes what waits for the gateway at path: whole, or not at all.
func (c *Client) wait(path string, data []byte) error {
	if err := os.MkdirAll(c.waitingDir(), 0o700); err != nil {
		return &core.FileError{File: c.waitingDir(), Err: err}
	}
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		_, err = f.Write(data)
		if serr := f.Sync(); err == nil {
			err = serr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return &core.FileError{File: path, Err: err}
	}
	return nil
}

// sendWaiting hands the gateway what waits here for it, until it cannot
// be reached; a put it refuses stays, to be opened (and told why) or
// deleted by the user. The caller holds draftMu.
func (c *Client) sendWaiting(ctx context.Context) {
	entries, _ := os.ReadDir(c.waitingDir())
	for _, e := range entries {
		path := filepath.Join(c.waitingDir(), e.Name())
		var err error
		if id, ok := strings.CutSuffix(e.Name(), waitingPut); ok {
			var b []byte
			if b, err = os.ReadFile(path); err == nil {
				err = c.putDraft(ctx, id, b)
			}
		} else if id, ok := strings.CutSuffix(e.Name(), waitingGone); ok {
			err = c.do(ctx, "DELETE", "/v1/drafts/"+id, nil, "", nil)
		} else {
			continue
		}
		if unreachable(err) {
			return
		}
		if err == nil {
			os.Remove(path)
		}
	}
}

// waiting are the drafts that wait here, by id, with when each was
// saved.
func (c *Client) waiting() map[string]time.Time {
	out := map[string]time.Time{}
	entries, _ := os.ReadDir(c.waitingDir())
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), waitingPut); ok {
			if st, err := e.Info(); err == nil {
				out[id] = st.ModTime()
			}
		}
	}
	return out
}

// Drafts lists the user's drafts at the gateway, the newest first, with
// those that still wait here (by their time alone: the PC cannot read
// them).
func (c *Client) Drafts(ctx context.Context) ([]core.DraftInfo, error) {
	c.draftMu.Lock()
	defer c.draftMu.Unlock()
	c.sendWaiting(ctx)
	var views []DraftInfoView
	if err := c.do(ctx, "GET", "/v1/drafts", nil, "", &views); err != nil {
		return nil, err
	}
	waiting := c.waiting()
	var out []core.DraftInfo
	for _, v := range views {
		info := core.DraftInfo{ID: v.ID, Subject: v.Subject, Saved: v.Saved, Attachments: v.Attachments}
		if t, ok := waiting[v.ID]; ok {
			info.Saved = t // a newer version waits here
			delete(waiting, v.ID)
		}
		out = append(out, info)
	}
	for id, t := range waiting {
		out = append(out, core.DraftInfo{ID: id, Saved: t})
	}
	core.SortDrafts(out)
	return out, nil
}

// OpenDraft returns the draft as the gateway keeps it; one that waits
// here is handed over first, and cannot be opened until it is.
func (c *Client) OpenDraft(ctx context.Context, id string) (message.Draft, error) {
	put, err := c.draftPath(id, waitingPut)
	if err != nil {
		return message.Draft{}, err
	}
	c.draftMu.Lock()
	defer c.draftMu.Unlock()
	c.sendWaiting(ctx)
	if b, err := os.ReadFile(put); err == nil {
		// Still here: the gateway's answer says why.
		if err := c.putDraft(ctx, id, b); err != nil {
			return message.Draft{}, err
		}
		os.Remove(put)
	}
	var v DraftView
	if err := c.do(ctx, "GET", "/v1/drafts/"+id, nil, "", &v); err != nil {
		return message.Draft{}, err
	}
	d := message.Draft{Subject: v.Subject, Body: v.Body}
	for _, a := range v.Attachments {
		d.Attachments = append(d.Attachments, message.Attachment{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
	}
	return d, nil
}

// DeleteDraft forgets the draft, here and at the gateway; while the
// gateway cannot be reached a mark waits here to forget it there.
func (c *Client) DeleteDraft(id string) error {
	gone, err := c.draftPath(id, waitingGone)
	if err != nil {
		return err
	}
	c.draftMu.Lock()
	defer c.draftMu.Unlock()
	put, _ := c.draftPath(id, waitingPut)
	if err := os.Remove(put); err != nil && !errors.Is(err, os.ErrNotExist) {
		return &core.FileError{File: put, Err: err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	switch err = c.do(ctx, "DELETE", "/v1/drafts/"+id, nil, "", nil); {
	case unreachable(err):
		return c.wait(gone, nil)
	case err != nil:
		return err
	}
	os.Remove(gone)
	return nil
}

// unreachable reports whether err is a gateway that cannot be reached
// now: it did not answer, or something before it answered for it that
// it is down.
func unreachable(err error) bool {
	var away *UnreachableError
	var re *RemoteError
	return errors.As(err, &away) || errors.As(err, &re) && re.IsTemporary()
}
