package directory

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/smime"
)

func TestCache(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cache, err := OpenCache(db, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	cache.Now = func() time.Time { return now }

	s := daemon.StartSlapd(t)
	// A certificate that expires in two hours.
	soon := issue(t, "kort@kommune.example", now.AddDate(0, -1, 0), now.Add(2*time.Hour))
	s.AddPerson(t, daemon.Person{CN: "Jens", Mail: []string{"jens.hansen@kommune.example"}, Certs: [][]byte{loadCert(t, "recipient-rsa").Raw}})
	s.AddPerson(t, daemon.Person{CN: "Kort", Mail: []string{"kort@kommune.example"}, Certs: [][]byte{soon.Raw}})
	src := &LDAP{URL: s.URL, StartTLS: true, TLS: s.TLS.Client(), BaseDN: s.BaseDN}
	p := policy(t)
	p.Time = now
	d := &Directory{Sources: []Source{src}, Trust: p, Cache: cache}

	first := d.Check(context.Background(), parse(t, "jens.hansen@kommune.example", "kort@kommune.example"))
	if !first[0].OK() || !first[1].OK() || src.RoundTrips.Load() != 1 {
		t.Fatalf("first check: %+v, %d round trips", first, src.RoundTrips.Load())
	}
	checked := first[0].Checked

	// Within the TTL: from the cache, no round trip, same source and time.
	now = now.Add(30 * time.Minute)
	p.Time = now
	again := d.Check(context.Background(), parse(t, "Jens.Hansen@kommune.example"))
	if !again[0].OK() || src.RoundTrips.Load() != 1 || again[0].Source != s.URL || !again[0].Checked.Equal(checked) {
		t.Errorf("cached check: %+v, %d round trips", again[0], src.RoundTrips.Load())
	}

	// The short-lived certificate expires while cached: never used, and the
	// directory, asked again, says why.
	now = now.Add(3 * time.Hour)
	p.Time = now
	cache.ttl = 24 * time.Hour
	v := d.Check(context.Background(), parse(t, "kort@kommune.example"))
	inv, ok := v[0].Err.(*InvalidCertificatesError)
	if v[0].OK() || !ok || inv.Problems[0].(*smime.Error).Reason != smime.CertExpired {
		t.Errorf("expired while cached: %+v", v[0])
	}
	if src.RoundTrips.Load() != 2 {
		t.Errorf("the directory was not asked again: %d round trips", src.RoundTrips.Load())
	}

	// Past the TTL the source is asked again.
	cache.ttl = time.Hour
	d.Check(context.Background(), parse(t, "jens.hansen@kommune.example"))
	if src.RoundTrips.Load() != 3 {
		t.Errorf("past the TTL: %d round trips, want 3", src.RoundTrips.Load())
	}
	if err := cache.Forget(context.Background(), "JENS.hansen@kommune.example"); err != nil {
		t.Fatal(err)
	}
	if hits, _ := cache.get(context.Background(), []string{"jens.hansen@kommune.example"}); len(hits) != 0 {
		t.Errorf("forgotten address still cached: %v", hits)
	}
}
