package core

import (
	"context"
	"errors"
	"testing"

	"sikkermail/internal/config"
	"sikkermail/internal/directory"
	"sikkermail/internal/recipient"
)

func TestCheck(t *testing.T) {
	c, err := New(config.Demo())
	if err != nil {
		t.Fatal(err)
	}
	in := []string{"sikkerpost@hoejskole.example", "jens@kommune.example", "310290-1234", "29403473", "Sikkerpost@HOEJSKOLE.example"}
	v := c.Check(context.Background(), in)
	if len(v) != len(in) {
		t.Fatalf("%d verdicts for %d inputs", len(v), len(in))
	}
	for i := range in {
		if v[i].Input != in[i] {
			t.Errorf("verdict %d is for %q, want %q (order kept)", i, v[i].Input, in[i])
		}
	}
	if !v[0].OK() || v[0].Channel != directory.Internal || !v[4].OK() {
		t.Errorf("internal address: %+v / %+v", v[0], v[4])
	}
	var nosrc *directory.NoSourceError
	if v[1].OK() || !errors.As(v[1].Err, &nosrc) {
		t.Errorf("external address without a certificate source is not red for that reason: %+v", v[1])
	}
	var perr *recipient.Error
	if v[2].OK() || v[2].Recipient != nil || !errors.As(v[2].Err, &perr) || perr.Reason != recipient.InvalidDate {
		t.Errorf("impossible CPR: %+v", v[2])
	}
	var dp *directory.DigitalPostUnavailableError
	if v[3].OK() || !errors.As(v[3].Err, &dp) {
		t.Errorf("CVR without Digital Post is not red for that reason: %+v", v[3])
	}
}

func TestNewRejectsBadDomains(t *testing.T) {
	cfg := config.Demo()
	cfg.Institution.Domains = []string{"not a domain"}
	if _, err := New(cfg); err == nil {
		t.Error("New accepted an invalid internal domain")
	}
}
