package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
	"sikkermail/internal/store"
)

// A user's drafts are kept at the gateway, sealed at rest, on SQLite (the
// demo) and on PostgreSQL: saved on one PC, opened whole on another; no
// other user lists, opens or deletes them.
func TestDrafts(t *testing.T) {
	for _, c := range []struct{ name, url string }{{"sqlite", ""}, {"postgres", daemon.StartPostgres(t).URL}} {
		t.Run(c.name, func(t *testing.T) {
			e := startOn(t, nil, c.url)
			ctx := context.Background()
			pc := e.dial(t, e.clientConfig(t), staff)
			d := message.Draft{Subject: "Udkast til afgørelse", Body: "Kære Jens\n\nFortroligt udkast.\n",
				Attachments: []message.Attachment{{Name: "bilag æ.pdf", Data: []byte("%PDF-1.7 hemmeligt bilag")}}}
			id, err := pc.SaveDraft(ctx, "", d)
			if err != nil {
				t.Fatal(err)
			}
			d.Body = "Kære Jens\n\nFortroligt udkast, rettet.\n"
			if again, err := pc.SaveDraft(ctx, id, d); err != nil || again != id {
				t.Fatalf("saved again as %s: %v", again, err)
			}
			other, err := pc.SaveDraft(ctx, "", message.Draft{Subject: "Kort", Body: "Et andet udkast"})
			if err != nil {
				t.Fatal(err)
			}
			list, err := pc.Drafts(ctx)
			if err != nil || len(list) != 2 || list[0].ID != other || list[1].ID != id || list[1].Subject != d.Subject || list[1].Attachments != 1 {
				t.Fatalf("%+v %v", list, err)
			}

			// Another PC of the same user opens it whole.
			got, err := e.dial(t, e.clientConfig(t), staff).OpenDraft(ctx, id)
			if err != nil || got.Subject != d.Subject || got.Body != d.Body || len(got.Attachments) != 1 ||
				got.Attachments[0].Name != "bilag æ.pdf" || !bytes.Equal(got.Attachments[0].Data, d.Attachments[0].Data) {
				t.Fatalf("%+v %v", got, err)
			}

			// Another user: none listed, none opened, none deleted.
			hd := e.dial(t, e.clientConfig(t), itVagt)
			if list, err := hd.Drafts(ctx); err != nil || len(list) != 0 {
				t.Errorf("another user lists %+v %v", list, err)
			}
			var re *RemoteError
			if got, err := hd.OpenDraft(ctx, id); !errors.As(err, &re) || got.Body != "" || re.View.Code != "draft.unreadable" {
				t.Errorf("another user opened %+v: %v", got, err)
			} else if strings.Contains(fmt.Sprint(re.View.Args), "/") {
				t.Errorf("the refusal names the gateway's files: %v", re.View.Args)
			}
			if err := hd.DeleteDraft(id); err != nil {
				t.Error(err)
			}
			if _, err := pc.OpenDraft(ctx, id); err != nil {
				t.Errorf("gone when another user deleted it: %v", err)
			}
			if _, err := pc.OpenDraft(ctx, strings.Repeat("0", 32)); !errors.As(err, &re) || re.Status != 404 {
				t.Errorf("a draft never kept: %v", err)
			}

			// At rest at the gateway: sealed.
			secrets := [][]byte{[]byte("Fortroligt udkast"), []byte("hemmeligt bilag"), []byte(d.Subject)}
			filepath.WalkDir(filepath.Dir(e.core.Config().Database), func(p string, de fs.DirEntry, err error) error {
				if err != nil || de.IsDir() {
					return err
				}
				b, _ := os.ReadFile(p)
				for _, s := range secrets {
					if bytes.Contains(b, s) {
						t.Errorf("%s holds %q", p, s)
					}
				}
				return nil
			})
			if c.url != "" {
				db, err := store.OpenPostgres(ctx, c.url)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var rows, plain int
				db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE position($1::bytea IN data) > 0 OR position($2::bytea IN data) > 0)
					FROM outbox_file WHERE message_id = $3`, secrets[0], secrets[1], "drafts:"+staff).Scan(&rows, &plain)
				if rows != 2 || plain != 0 {
					t.Errorf("%d rows of drafts, %d in plaintext", rows, plain)
				}
			}

			if err := pc.DeleteDraft(id); err != nil {
				t.Fatal(err)
			}
			if list, err := pc.Drafts(ctx); err != nil || len(list) != 1 || list[0].ID != other {
				t.Errorf("after delete: %+v %v", list, err)
			}
		})
	}
}
