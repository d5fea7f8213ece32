package gateway

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
)

// mail100k is a mail with a 100 KB attachment, to an S/MIME recipient
// and a colleague.
func mail100k(i int) message.Draft {
	data := make([]byte, 100<<10)
	rand.Read(data)
	return message.Draft{Subject: fmt.Sprintf("Mail %d", i), Body: "Hermed bilaget.\n", Attachments: []message.Attachment{{Name: "bilag.bin", Data: data}}}
}

var benchTo, benchCc = []string{"jens.hansen@kommune.example"}, []string{"kollega@hoejskole.example"}

// BenchmarkGatewayThroughput is one gateway instance on PostgreSQL, its
// workers running, working a queue of 100 mails of 100 KB (sign,
// encrypt, two submissions, two Sent copies, audit, receipt each) over
// the loopback demo servers, sessions kept across the batch: mails per
// second.
func BenchmarkGatewayThroughput(b *testing.B) {
	e := startOn(b, nil, daemon.StartPostgres(b).URL)
	cl := e.dial(b, e.clientConfig(b), staff)
	const batch = 100
	var finished atomic.Int32
	all := make(chan struct{}, 1)
	e.core.OnStep(func(step string, _ int64) {
		if step == "receipt" && finished.Add(1)%batch == 0 {
			all <- struct{}{}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		for j := range batch {
			if _, err := cl.Send(ctx, mail100k(j), "sikkerpost-uddservice@hoejskole.example", benchTo, benchCc); err != nil {
				b.Fatal(err)
			}
		}
		// The queue is full before the workers start: what is timed is
		// the work alone.
		start := time.Now()
		wctx, stop := context.WithCancel(ctx)
		worked := make(chan error)
		go func() { worked <- e.core.Run(wctx) }()
		<-all
		total += time.Since(start)
		stop()
		<-worked
	}
	b.ReportMetric(float64(batch*b.N)/total.Seconds(), "mails/s")
}

// BenchmarkGatewayLatency is 50 clients each sending a 100 KB mail at
// the same moment through the API of one instance on PostgreSQL, its
// worker running: the time from the submit to the receipt, median and
// 99th percentile.
func BenchmarkGatewayLatency(b *testing.B) {
	e := startOn(b, nil, daemon.StartPostgres(b).URL)
	// The receipt step tells when each mail is done: asking the gateway
	// in a loop would load the two cores the worker needs.
	var doneMu sync.Mutex
	done := map[int64]chan struct{}{}
	waitFor := func(id int64) chan struct{} {
		doneMu.Lock()
		defer doneMu.Unlock()
		if done[id] == nil {
			done[id] = make(chan struct{})
		}
		return done[id]
	}
	e.core.OnStep(func(step string, id int64) {
		if step == "receipt" {
			close(waitFor(id))
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	worked := make(chan error)
	go func() { worked <- e.core.Run(ctx) }()
	defer func() { cancel(); <-worked }()
	const clients = 50
	var cls []*Client
	for range clients {
		cls = append(cls, e.dial(b, e.clientConfig(b), staff))
	}
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for j, cl := range cls {
			d := mail100k(j)
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				q, err := cl.Send(ctx, d, "sikkerpost-uddservice@hoejskole.example", benchTo, benchCc)
				if err != nil {
					errs <- err
					return
				}
				<-waitFor(q.ID)
				mu.Lock()
				lat = append(lat, time.Since(start))
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "ms-p50")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "ms-p99")
}
