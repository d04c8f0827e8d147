package testproc

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the server process: with TESTPROC_HELPER
// set, TestMain runs as that helper instead of the tests.
func TestMain(m *testing.M) {
	switch os.Getenv("TESTPROC_HELPER") {
	case "":
		os.Exit(m.Run())
	case "exit":
		os.Exit(3)
	case "serve":
		// Ignores SIGTERM when asked (a server that will not stop), then
		// says it is ready by creating the file and waits for a signal.
		if os.Getenv("TESTPROC_IGNORE_TERM") != "" {
			signal.Ignore(syscall.SIGTERM)
		}
		if err := os.WriteFile(os.Getenv("TESTPROC_READY"), nil, 0o600); err != nil {
			os.Exit(2)
		}
		select {}
	case "parent":
		// Starts a server as a test would, writes its pid, and waits to
		// be killed.
		cmd := exec.Command(os.Args[0])
		ready := os.Getenv("TESTPROC_READY") + ".child"
		cmd.Env = append(os.Environ(), "TESTPROC_HELPER=serve", "TESTPROC_READY="+ready)
		log, err := os.Create(ready + ".log")
		if err != nil {
			os.Exit(2)
		}
		p, err := Start(cmd, log, time.Minute, exists(ready))
		if err != nil {
			os.Exit(2)
		}
		if err := os.WriteFile(os.Getenv("TESTPROC_READY"), []byte(strconv.Itoa(p.cmd.Process.Pid)), 0o600); err != nil {
			os.Exit(2)
		}
		select {}
	}
}

// helper returns a command that runs the test binary as helper kind, the
// file it creates once ready, and the log for Start.
func helper(t *testing.T, kind string, env ...string) (*exec.Cmd, string, *os.File) {
	t.Helper()
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append([]string{"TESTPROC_HELPER=" + kind, "TESTPROC_READY=" + ready}, env...)...)
	log, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	return cmd, ready, log
}

func exists(path string) func() error {
	return func() error {
		_, err := os.Stat(path)
		return err
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port %d: %v", port, err)
	}
	ln.Close()
}

func TestStartFails(t *testing.T) {
	errNever := errors.New("never ready")
	tests := []struct {
		name    string
		kind    string
		path    string // replaces the command's path when not empty
		ready   func() error
		timeout time.Duration
		want    string
		wantErr error
	}{
		{name: "cannot start", kind: "serve", path: filepath.Join(t.TempDir(), "missing"), ready: func() error { return nil }, timeout: time.Minute, want: "start"},
		{name: "exits at start", kind: "exit", ready: func() error { return errNever }, timeout: time.Minute, want: "exited at start"},
		{name: "never ready", kind: "serve", ready: func() error { return errNever }, timeout: 50 * time.Millisecond, want: "not ready", wantErr: errNever},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, _, log := helper(t, tt.kind)
			if tt.path != "" {
				cmd.Path = tt.path
			}
			p, err := Start(cmd, log, tt.timeout, tt.ready)
			if err == nil || p != nil {
				t.Fatalf("Start: %v, %v; want an error and no process", p, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %q", err, tt.wantErr)
			}
			if cmd.Process != nil && cmd.ProcessState == nil {
				t.Error("Start returned with the process still running")
			}
			if err := log.Close(); !errors.Is(err, os.ErrClosed) {
				t.Errorf("the log is still open: closing it again: %v", err)
			}
		})
	}
}

func TestStop(t *testing.T) {
	tests := []struct {
		name       string
		ignoreTerm bool
		setpgid    bool
		grace      time.Duration
	}{
		{name: "exits on the signal", grace: time.Minute},
		{name: "killed after the grace", ignoreTerm: true, grace: 10 * time.Millisecond},
		{name: "group killed after the grace", ignoreTerm: true, setpgid: true, grace: 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env []string
			if tt.ignoreTerm {
				env = append(env, "TESTPROC_IGNORE_TERM=1")
			}
			cmd, ready, log := helper(t, "serve", env...)
			if tt.setpgid {
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			}
			p, err := Start(cmd, log, time.Minute, exists(ready))
			if err != nil {
				t.Fatal(err)
			}
			p.Stop(syscall.SIGTERM, tt.grace)
			st := cmd.ProcessState
			if st == nil {
				t.Fatal("Stop returned with the process still running")
			}
			ws := st.Sys().(syscall.WaitStatus)
			want := syscall.SIGTERM
			if tt.ignoreTerm {
				want = syscall.SIGKILL
			}
			if !ws.Signaled() || ws.Signal() != want {
				t.Errorf("process ended with %v, want killed by %v", st, want)
			}
			p.Stop(syscall.SIGTERM, tt.grace) // stopped already: does nothing
		})
	}
}

// TestServerDiesWithItsStarter: a test binary killed with SIGKILL, which
// runs no cleanup, leaves no server behind.
func TestServerDiesWithItsStarter(t *testing.T) {
	cmd, ready, log := helper(t, "parent")
	parent, err := Start(cmd, log, time.Minute, exists(ready))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(ready)
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatalf("child pid %q: %v", b, err)
	}
	if !alive(child) {
		t.Fatalf("the server %d is not running", child)
	}
	procs, err := Procs()
	if err != nil {
		t.Fatal(err)
	}
	if d := Descendants(procs, os.Getpid()); !slices.Contains(d, child) || !slices.Contains(d, parent.cmd.Process.Pid) {
		t.Fatalf("descendants %v, want the starter %d and its server %d", d, parent.cmd.Process.Pid, child)
	}
	parent.Stop(syscall.SIGKILL, 10*time.Second)
	deadline := time.Now().Add(30 * time.Second) // a guard, not a measure
	for alive(child) {
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("the server %d outlived the process that started it", child)
		}
		time.Sleep(pollInterval)
	}
}

// alive reports whether pid runs: it exists and is not a zombie.
func alive(pid int) bool {
	p, err := ReadProc(pid)
	return err == nil && p.Running()
}
