package core

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
)

// BenchmarkSendToReceipt is the time from pressing Send to the receipt
// for a mail with a 1 MB attachment to one external and one internal
// recipient, on loopback: queue, build, sign, encrypt, two submissions,
// audit, two Sent copies and the receipt.
func BenchmarkSendToReceipt(b *testing.B) {
	e := newSendEnv(b)
	c := e.core(b)
	ctx := context.Background()
	data := make([]byte, 1<<20)
	rand.Read(data)
	d := message.Draft{Subject: "Bilag", Body: "Se vedhæftede.\n", Attachments: []message.Attachment{{Name: "bilag.pdf", Data: data}}}
	c.Check(ctx, []string{external, colleague}) // the user's Kontrollér adresser, before Send
	b.ResetTimer()
	for b.Loop() {
		q, err := c.Send(ctx, d, sendMailbox, []string{external, colleague}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.outbox.Process(ctx); err != nil {
			b.Fatal(err)
		}
		if m, _ := c.outbox.Get(ctx, q.ID); m.State != outbox.Done {
			b.Fatalf("%+v %v", m, m.Err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/mail")
}

// BenchmarkOutbox200 queues 200 small mails and then sends them all:
// the outbox's throughput with real submissions and copies.
func BenchmarkOutbox200(b *testing.B) {
	e := newSendEnv(b)
	c := e.core(b)
	ctx := context.Background()
	d := message.Draft{Subject: "Besked", Body: "Kort besked.\n"}
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		for j := range 200 {
			if _, err := c.Send(ctx, message.Draft{Subject: fmt.Sprint(d.Subject, i, j), Body: d.Body}, sendMailbox, []string{external}, nil); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		if n, err := c.outbox.Process(ctx); n != 200 || err != nil {
			b.Fatal(n, err)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(200*b.N)/total.Seconds(), "mails/s")
}
