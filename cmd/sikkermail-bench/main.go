// Command bench measures sikkermail against the reference implementation
// on the same input, in the same run, and prints a Markdown table of the
// ratios (`make bench`). Each side runs as its own process, so that peak
// memory is the process's maximum resident set (from wait4), not an
// estimate; each measurement is the median of several runs.
//
//	go run ./cmd/sikkermail-bench [-sizes 1,25] [-runs 3]
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type result struct {
	wall time.Duration
	rss  int64 // KiB
}

// measure runs argv runs times and returns the median wall time and the
// largest peak RSS seen (of the process and the children it waited for).
func measure(runs int, env []string, argv ...string) (result, error) {
	var walls []time.Duration
	var rss int64
	for i := 0; i < runs; i++ {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return result{}, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, stderr.String())
		}
		walls = append(walls, time.Since(start))
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = max(rss, ru.Maxrss)
		}
	}
	slices.Sort(walls)
	return result{wall: walls[len(walls)/2], rss: rss}, nil
}

// payload writes a MIME entity of about n bytes: a text part and a
// base64 attachment of random data, as a mail with a large file is. It
// is written piece by piece: the bench process must stay small, because
// a child's peak RSS (wait4) counts the parent's pages until the exec.
func payload(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSe vedhæftede fil.\r\n--b\r\n")
	w.WriteString("Content-Type: application/pdf; name=journal.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	raw := make([]byte, 57) // one 76-character line
	line := make([]byte, 76)
	for left := n * 3 / 4; left > 0; left -= len(raw) {
		if left < len(raw) {
			raw = raw[:left]
		}
		rand.Read(raw)
		base64.StdEncoding.Encode(line, raw)
		w.Write(line[:base64.StdEncoding.EncodedLen(len(raw))])
		w.WriteString("\r\n")
	}
	w.WriteString("--b--\r\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	debug.FreeOSMemory()
	return f.Close()
}

func main() {
	if limit := os.Getenv(serveEnv); limit != "" {
		n, _ := strconv.ParseInt(limit, 10, 64)
		if err := serve(n); err != nil {
			fail(err)
		}
		return
	}
	sizes := flag.String("sizes", "100k,1m,25m,100m", "payload sizes (k or m), comma-separated")
	runs := flag.Int("runs", 3, "runs per measurement (the median is reported)")
	sendSize := flag.String("send", "100m", "attachment size for the whole send path")
	only := flag.String("only", "", "measure one part only: smime or send")
	flag.Parse()

	dir, err := os.MkdirTemp("", "sikkermail-bench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	cli := filepath.Join(dir, "sikkermail-cli")
	build := exec.Command("go", "build", "-o", cli, "./cmd/sikkermail-cli")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fail(err)
	}
	certs, _ := filepath.Abs(filepath.Join("testdata", "certs"))
	c := func(name string) string { return filepath.Join(certs, name) }
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		fail(fmt.Errorf("openssl is needed as the reference (.ci/install-deps installs it)"))
	}
	version, _ := exec.Command(openssl, "version").Output()

	fmt.Printf("Machine: %s/%s, %d CPUs, %s; reference: %s; median of %d runs.\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(),
		strings.TrimSpace(string(version)), *runs)
	fmt.Println("| operation | size | sikkermail | openssl | time ratio | sikkermail peak RSS | openssl peak RSS | memory ratio | RSS / payload |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	oneMB := "not measured"
	var streamRows []string
	oaep := "-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256"
	for _, s := range strings.Split(*sizes, ",") {
		if *only == "send" {
			break
		}
		n, label, err := size(strings.TrimSpace(s))
		if err != nil {
			fail(err)
		}
		in := filepath.Join(dir, "payload-"+strings.ReplaceAll(label, " ", "")+".eml")
		if err := payload(in, n); err != nil {
			fail(err)
		}
		st, _ := os.Stat(in)
		enc, encRef := filepath.Join(dir, "enc.eml"), filepath.Join(dir, "enc-ref.eml")
		ours, err := measure(*runs, []string{"PW=test"}, cli, "smime", "sign-encrypt",
			"--identity", c("mailbox-rsa.p12"), "--password", "env:PW", "--recipient", c("recipient-rsa.pem"),
			"--in", in, "--out", enc)
		if err != nil {
			fail(err)
		}
		// The same work: a clear signature with SHA-256, then AES-256-GCM with
		// RSA-OAEP-SHA256 for the recipient and the mailbox itself.
		pipeline := fmt.Sprintf("%s cms -sign -binary -in %s -signer %s -inkey %s -md sha256 | %s cms -encrypt -binary -aes-256-gcm -recip %s %s -recip %s %s -out %s",
			openssl, in, c("mailbox-rsa.pem"), c("mailbox-rsa.key"), openssl, c("recipient-rsa.pem"), oaep, c("mailbox-rsa.pem"), oaep, encRef)
		ref, err := measure(*runs, nil, "bash", "-o", "pipefail", "-c", pipeline)
		if err != nil {
			fail(err)
		}
		if label == "1 MB" {
			oneMB = ref.wall.Round(time.Millisecond).String()
		}
		row("sign+encrypt", label, ours, ref, st.Size())
		// openssl streaming both steps (-stream: BER, constant memory).
		streamed := strings.ReplaceAll(pipeline, " cms -sign -binary ", " cms -sign -binary -stream ")
		streamed = strings.ReplaceAll(streamed, " cms -encrypt -binary ", " cms -encrypt -binary -stream ")
		sref, err := measure(*runs, nil, "bash", "-o", "pipefail", "-c", streamed)
		if err != nil {
			fail(err)
		}
		streamRows = append(streamRows, fmt.Sprintf("| sign+encrypt | %s | %s | %s | %.2f× | %s | %s |", label,
			ours.wall.Round(time.Millisecond), sref.wall.Round(time.Millisecond), float64(ours.wall)/float64(sref.wall), mib(ours.rss), mib(sref.rss)))
		// Decrypt and verify the same file (ours), as the recipient.
		ours, err = measure(*runs, []string{"PW=test"}, cli, "smime", "decrypt", "--identity", c("recipient-rsa.p12"), "--password", "env:PW",
			"--ca", c("ca.pem"), "--in", enc, "--out", filepath.Join(dir, "dec.eml"))
		if err != nil {
			fail(err)
		}
		ref, err = measure(*runs, nil, "bash", "-o", "pipefail", "-c", fmt.Sprintf("%s cms -decrypt -in %s -recip %s -inkey %s | %s cms -verify -CAfile %s -purpose smimesign -out %s",
			openssl, enc, c("recipient-rsa.pem"), c("recipient-rsa.key"), openssl, c("ca.pem"), filepath.Join(dir, "dec-ref.eml")))
		if err != nil {
			fail(err)
		}
		row("decrypt+verify", label, ours, ref, st.Size())
	}

	fmt.Println()
	fmt.Println("| against `openssl cms -stream` | size | sikkermail | openssl -stream | time ratio | sikkermail peak RSS | openssl -stream peak RSS |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range streamRows {
		fmt.Println(r)
	}
	if *only == "smime" {
		return
	}
	n, label, err := size(*sendSize)
	if err != nil {
		fail(err)
	}
	sp, err := sendPath(cli, certs, int64(n), *runs)
	if err != nil {
		fail(err)
	}
	fmt.Println()
	fmt.Println("| whole send path (`sikkermail-cli send`), 1 external + 1 internal recipient | time | peak RSS | RSS / attachment | goal |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: |")
	fmt.Printf("| %s attachment: queue, build, sign, encrypt, 2 submissions, 2 Sent copies, receipt | %s | %s | %.2f× | ≤ 2× |\n",
		label, sp.wall.Round(time.Millisecond), mib(sp.rss), float64(sp.rss*1024)/float64(n))
	if *only != "" {
		return
	}

	d, rt, err := directoryBench()
	if err != nil {
		fail(err)
	}
	fmt.Println()
	fmt.Println("| operation | time | LDAP round trips |")
	fmt.Println("| --- | ---: | ---: |")
	fmt.Printf("| check 100 recipients against slapd on loopback (no cache) | %s | %.0f |\n", d.Round(100*time.Microsecond), rt)

	startup, err := startupTime(*runs)
	if err != nil {
		fail(err)
	}
	send, err := goBench("./internal/core", "^BenchmarkSendToReceipt$", "10x", "ms/mail")
	if err != nil {
		fail(err)
	}
	rate, err := goBench("./internal/core", "^BenchmarkOutbox200$", "3x", "mails/s")
	if err != nil {
		fail(err)
	}
	fmt.Println()
	fmt.Println("| send path, loopback SMTP + IMAP | result | reference |")
	fmt.Println("| --- | ---: | ---: |")
	fmt.Printf("| Send → receipt, 1 MB attachment, 1 external + 1 internal recipient | %.0f ms | goal < 300 ms; openssl sign+encrypt alone, 1 MB, above: %s |\n", send, oneMB)
	fmt.Printf("| outbox throughput, 200 queued mails | %.0f mails/s | — |\n", rate)
	fmt.Println()
	fmt.Println("| GUI | time | goal |")
	fmt.Println("| --- | ---: | ---: |")
	fmt.Printf("| start on the demo until the compose window is shown and takes typing (Xvfb) | %s | < 1 s |\n", startup.Round(time.Millisecond))
}

// startupTime builds the GUI and returns the median time from starting
// it (demo, under Xvfb) until it says it is ready.
func startupTime(runs int) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "sikkermail-startup")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "sikkermail")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/sikkermail").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build: %v\n%s", err, out)
	}
	// One X server for every run, so that its start is not counted.
	display := ":97"
	xvfb := exec.Command("Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	if err := xvfb.Start(); err != nil {
		return 0, fmt.Errorf("starting Xvfb: %w", err)
	}
	defer xvfb.Process.Kill()
	socket := "/tmp/.X11-unix/X" + strings.TrimPrefix(display, ":")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the X server (Xvfb) did not start")
		}
	}
	var times []time.Duration
	for i := 0; i <= runs; i++ { // the first run makes the demo's keys; it is not counted
		cmd := exec.Command(bin, "-demo", "-ready-and-quit")
		cmd.Env = append(os.Environ(), "DISPLAY="+display, "LANGUAGE=da", "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
		out, err := cmd.StdoutPipe()
		if err != nil {
			return 0, err
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		took := time.Since(start)
		cmd.Wait()
		if strings.TrimSpace(line) != "ready" {
			return 0, fmt.Errorf("the GUI did not say ready (got %q)", line)
		}
		if i > 0 {
			times = append(times, took)
		}
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}

// goBench runs one Go benchmark and returns the value of its metric unit.
func goBench(pkg, name, times, unit string) (float64, error) {
	out, err := exec.Command("go", "test", "-run", "^$", "-bench", name, "-benchtime", times, pkg).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		for i := 1; i < len(f); i++ {
			if f[i] == unit {
				return strconv.ParseFloat(f[i-1], 64)
			}
		}
	}
	return 0, fmt.Errorf("%s: no %s in\n%s", name, unit, out)
}

// directoryBench runs the directory's Go benchmark against a real slapd
// and returns its time per check and LDAP round trips per check.
func directoryBench() (time.Duration, float64, error) {
	out, err := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkCheck100$", "-benchtime", "20x", "./internal/directory").CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("directory benchmark: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && strings.HasPrefix(f[0], "BenchmarkCheck100") && f[3] == "ns/op" && f[5] == "roundtrips/op" {
			ns, err1 := strconv.ParseFloat(f[2], 64)
			rt, err2 := strconv.ParseFloat(f[4], 64)
			if err1 == nil && err2 == nil {
				return time.Duration(ns), rt, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("directory benchmark: no result in\n%s", out)
}

// size reads "100k" or "25m" as a byte count and a label.
func size(s string) (int, string, error) {
	unit, label := 1<<20, "MB"
	if strings.HasSuffix(s, "k") {
		unit, label = 1<<10, "KB"
	}
	n, err := strconv.Atoi(strings.TrimRight(s, "km"))
	if err != nil {
		return 0, "", fmt.Errorf("size %q: write 100k or 25m", s)
	}
	return n * unit, fmt.Sprintf("%d %s", n, label), nil
}

// row prints one line of the S/MIME table.
func row(op, label string, ours, ref result, payload int64) {
	fmt.Printf("| %s | %s | %s | %s | %.2f× | %s | %s | %.2f× | %.2f× |\n", op, label,
		ours.wall.Round(time.Millisecond), ref.wall.Round(time.Millisecond), float64(ours.wall)/float64(ref.wall),
		mib(ours.rss), mib(ref.rss), float64(ours.rss)/float64(ref.rss), float64(ours.rss*1024)/float64(payload))
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
