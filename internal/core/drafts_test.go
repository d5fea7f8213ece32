package core

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sikkermail/internal/i18n"
	"sikkermail/internal/message"
)

// A draft is kept sealed, survives a new start, is listed newest first,
// opens whole with its attachment, and goes when deleted.
func TestDrafts(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	if list, err := c.Drafts(ctx); err != nil || len(list) != 0 {
		t.Fatalf("%v %v", list, err)
	}
	id, err := c.SaveDraft(ctx, "", draft)
	if err != nil {
		t.Fatal(err)
	}
	second := message.Draft{Subject: "Nyere", Body: "Senere kladde."}
	id2, err := c.SaveDraft(ctx, "", second)
	if err != nil {
		t.Fatal(err)
	}
	// Saved again under its id: replaced, not added.
	second.Body = "Rettet."
	if again, err := c.SaveDraft(ctx, id2, second); err != nil || again != id2 {
		t.Fatalf("%s %v", again, err)
	}
	path := c.draftFile(id)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range [][]byte{[]byte("Hermed afgørelsen"), []byte(draft.Subject), draft.Attachments[0].Data[:40]} {
		if bytes.Contains(raw, secret) {
			t.Errorf("the draft's file holds %q in plaintext", secret)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	c.Close()

	c = e.core(t) // a new start, as after closing or a crash
	list, err := c.Drafts(ctx)
	if err != nil || len(list) != 2 || list[0].ID != id2 || list[1].Subject != draft.Subject || list[1].Attachments != 1 {
		t.Fatalf("%+v %v", list, err)
	}
	got, err := c.OpenDraft(ctx, id)
	if err != nil || got.Body != draft.Body || !bytes.Equal(got.Attachments[0].Data, draft.Attachments[0].Data) {
		t.Fatalf("%v", err)
	}
	if got, _ := c.OpenDraft(ctx, id2); got.Body != "Rettet." {
		t.Errorf("the saved-again draft reads %q", got.Body)
	}
	if err := c.DeleteDraft(id); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.Drafts(ctx); len(list) != 1 {
		t.Fatalf("%d after delete", len(list))
	}
	// A name that is no draft's is refused, not looked for on the disk.
	var de *DraftError
	if _, err := c.OpenDraft(ctx, "../../etc/passwd"); !errors.As(err, &de) {
		t.Errorf("%v", err)
	}
	// A damaged file is listed, and says so when opened.
	os.WriteFile(filepath.Join(c.draftsDir(), id2+".draft"), []byte("ødelagt"), 0o600)
	if _, err := c.OpenDraft(ctx, id2); !errors.As(err, &de) || de.Reason != "unreadable" {
		t.Errorf("%v", err)
	}
}

// A user keeps MaxDrafts at most: one more is refused with the sentence
// that says what to do, while those kept are still saved again.
func TestDraftsBounded(t *testing.T) {
	c := newSendEnv(t).core(t)
	ctx := context.Background()
	var first string
	for i := range MaxDrafts {
		id, err := c.SaveDraft(ctx, "", message.Draft{Subject: "Kladde", Body: strconv.Itoa(i)})
		if err != nil {
			t.Fatalf("draft %d: %v", i, err)
		}
		first = cmp.Or(first, id)
	}
	_, err := c.SaveDraft(ctx, "", message.Draft{Subject: "En for meget"})
	var de *DraftError
	if !errors.As(err, &de) || de.Reason != DraftTooMany || !strings.Contains(i18n.Danish.Error(err), "200 kladder") {
		t.Errorf("one more: %v", err)
	}
	if _, err := c.SaveDraft(ctx, first, message.Draft{Subject: "Rettet"}); err != nil {
		t.Errorf("one kept, saved again: %v", err)
	}
}
