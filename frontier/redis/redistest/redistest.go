// Package redistest starts a throwaway redis-server for tests: on a free
// loopback port, with its data in a temporary directory and AOF
// persistence on, stopped when the test ends.
//
// When redis-server is not installed, Start skips the test with a message
// saying so, except in CI (the environment variable CI is "true"), where
// it fails it: there a missing server is a broken setup, not a choice.
//
// Package redistest imports only internal/testproc of this module (which
// runs the process); only tests import it.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/internal/testproc"
)

// Server is a redis-server process run for a test. Its methods are safe
// for concurrent use.
type Server struct {
	t    testing.TB
	bin  string
	args []string
	dir  string
	port int

	mu   sync.Mutex
	proc *testproc.Process // nil while stopped
}

// Start starts redis-server on a free port of 127.0.0.1 with a temporary
// directory, "--appendonly yes" and no RDB snapshots, plus extra (such as
// "--appendfsync", "always"), and stops it when the test ends.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redistest: redis-server is not installed; CI must install it (Debian package redis-server): %v", err)
		}
		t.Skipf("redistest: redis-server is not installed, skipping a test that needs a real Redis (apt-get install redis-server)")
	}
	port, err := testproc.FreePort()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), port: port}
	s.args = append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--save", "", "--daemonize", "no", "--logfile", "",
		"--protected-mode", "yes",
	}, extra...)
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL returns the redis:// URL of database db.
func (s *Server) URL(db int) string { return "redis://" + s.Addr() + "/" + strconv.Itoa(db) }

// Dir returns the server's data directory.
func (s *Server) Dir() string { return s.dir }

// start starts redis-server and waits until it answers PING.
func (s *Server) start() error {
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.dir
	log, err := os.Create(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return err
	}
	p, err := testproc.Start(cmd, log, 10*time.Second, s.ping)
	if err != nil {
		return fmt.Errorf("redistest: redis-server on %s: %w\n%s", s.Addr(), err, s.log())
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

// ping sends PING and expects PONG (not LOADING).
func (s *Server) ping() error {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return errors.New(strings.TrimSpace(line))
	}
	return nil
}

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	return string(b)
}

// stop signals the server and waits for it to exit.
func (s *Server) stop(sig syscall.Signal) {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.Stop(sig, 10*time.Second)
	}
}

// Stop shuts the server down cleanly (SIGTERM: the AOF is flushed). It is
// called when the test ends; calling it earlier is fine.
func (s *Server) Stop() { s.stop(syscall.SIGTERM) }

// Kill kills the server with SIGKILL, as a crash would.
func (s *Server) Kill() { s.stop(syscall.SIGKILL) }

// Restart starts the server again on the same port and directory, after
// Stop or Kill; it reloads its data from the AOF.
func (s *Server) Restart() {
	s.t.Helper()
	var err error
	for range 50 { // the port may linger a moment after a kill
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatal(err)
}
