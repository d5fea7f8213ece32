package daemon

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"sikkermail/internal/testenv"
)

// GTUBE is SpamAssassin's test string: a mail holding it is spam to
// every SpamAssassin, whatever its rules
// (https://spamassassin.apache.org/gtube/).
const GTUBE = `XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X`

// Spamd is a throwaway SpamAssassin daemon on a Unix socket in a
// temporary folder, with the rules Debian ships and no network tests
// (no DNS blocklists, no Bayes): the tests need a real spamd that tells
// spam from a plain letter, not today's spam.
type Spamd struct {
	// Socket is the path of its socket.
	Socket string
	stop   func()
}

// StartSpamd starts spamd for the test and stops it when the test ends.
func StartSpamd(t testing.TB) *Spamd {
	t.Helper()
	bin := testenv.Need(t, "spamd")
	dir := daemonDir(t, "spamd-") // a Unix socket's path must be short
	os.Chmod(dir, 0o755)          // spamd's children run as nobody when started by root
	// The site's settings: the plugin loaders Debian installs, then ours.
	pre, _ := filepath.Glob("/etc/spamassassin/*.pre")
	for _, f := range pre {
		if b, err := os.ReadFile(f); err == nil {
			os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644)
		}
	}
	os.WriteFile(filepath.Join(dir, "local.cf"), []byte("use_bayes 0\nskip_rbl_checks 1\ndns_available no\nuse_auto_whitelist 0\n"), 0o644)
	s := &Spamd{Socket: filepath.Join(dir, "spamd.sock")}
	args := []string{"--socketpath=" + s.Socket, "--socketmode=0666", "-x", "-L", "--max-children=2",
		"--siteconfigpath=" + dir, "--syslog=stderr"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	s.stop = startDaemon(t, "spamd", exec.Command(bin, args...), syscall.SIGTERM, "", func() bool {
		conn, err := net.Dial("unix", s.Socket)
		if err != nil {
			return false
		}
		defer conn.Close()
		conn.Write([]byte("PING SPAMC/1.5\r\n\r\n"))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		return strings.HasSuffix(strings.TrimSpace(line), "PONG")
	})
	return s
}

// Stop stops spamd now, as a checker that goes down.
func (s *Spamd) Stop() { s.stop() }
