package daemon

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"sikkermail/internal/testenv"
)

// EICAR is the anti-malware test file: every scanner reports it, and it
// harms nothing (https://www.eicar.org/download-anti-malware-testfile/).
const EICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// EICARName is what the test clamd calls it when found.
const EICARName = "Sikkermail-Test-EICAR.UNOFFICIAL"

// Clamd is a throwaway ClamAV daemon on a Unix socket in a temporary
// folder. Its signature database is the EICAR test file's hash alone:
// ClamAV's own database cannot be downloaded here, and the tests need
// only a scanner that finds something.
type Clamd struct {
	// Socket is the path of its socket.
	Socket string
	stop   func()
}

// StartClamd starts clamd for the test and stops it when the test ends.
// maxStream bounds what it scans of one stream (clamd's StreamMaxLength,
// e.g. "25M").
func StartClamd(t testing.TB, maxStream string) *Clamd {
	t.Helper()
	bin := testenv.Need(t, "clamd")
	// Not t.TempDir: a Unix socket's path must be short.
	dir := daemonDir(t, "clamd-")
	db := filepath.Join(dir, "db")
	os.Mkdir(db, 0o755)
	sum := md5.Sum([]byte(EICAR))
	sig := fmt.Sprintf("%s:%d:%s\n", hex.EncodeToString(sum[:]), len(EICAR), "Sikkermail-Test-EICAR")
	if err := os.WriteFile(filepath.Join(db, "sikkermail-test.hdb"), []byte(sig), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Clamd{Socket: filepath.Join(dir, "clamd.sock")}
	log := filepath.Join(dir, "clamd.log")
	conf := filepath.Join(dir, "clamd.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("LocalSocket %s\nDatabaseDirectory %s\nTemporaryDirectory %s\nLogFile %s\nForeground yes\nStreamMaxLength %s\nSelfCheck 0\n",
		c.Socket, db, dir, log, maxStream)), 0o644)
	c.stop = startDaemon(t, "clamd", exec.Command(bin, "-c", conf), syscall.SIGTERM, log, func() bool {
		conn, err := net.Dial("unix", c.Socket)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	})
	return c
}

// Stop stops clamd now, as a scanner that goes down.
func (c *Clamd) Stop() { c.stop() }
