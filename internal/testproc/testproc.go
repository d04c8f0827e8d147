// Package testproc runs the server processes that the module's test
// helpers start (redis-server in frontier/redis/redistest, PostgreSQL and
// MariaDB in internal/testdb): it finds a free loopback port to give a
// server, starts it and waits until it is ready or has exited, and stops
// it with a signal, killing it if it does not exit in time. It also
// reads the process table (Procs), for tests that check what a process
// left running.
//
// Package testproc imports no other package of this module; only the test
// helpers import it.
package testproc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testproc: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Process is a server process Start started. Its methods are safe for
// concurrent use.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
}

// pollInterval is the time between two calls of Start's ready.
const pollInterval = 20 * time.Millisecond

// Start starts cmd, which must not have been started, with its standard
// output and error going to log; log is closed once the process has
// exited (or at once if it cannot start). It then calls ready every 20ms
// until ready returns nil, and returns the process.
//
// If the process exits first, Start returns an error; if ready still
// fails after timeout, Start kills the process, waits for it to exit and
// returns an error wrapping ready's last one. The process gets SIGKILL
// if the one that started it dies (SysProcAttr.Pdeathsig), so that no
// server outlives a killed test.
func Start(cmd *exec.Cmd, log *os.File, timeout time.Duration, ready func() error) (*Process, error) {
	cmd.Stdout, cmd.Stderr = log, log
	// A test binary killed (a timeout, kill -9) takes its servers with it.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("testproc: start %s: %w", cmd.Path, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		log.Close()
		close(p.done)
	}()
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.kill()
			<-p.done
			return nil, fmt.Errorf("testproc: %s not ready after %s: %w", cmd.Path, timeout, err)
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("testproc: %s exited at start (%s)", cmd.Path, cmd.ProcessState)
		case <-time.After(pollInterval):
		}
	}
}

// Stop sends sig to the process and waits for it to exit; if it has not
// within grace, it kills it and waits for that. Stopping a process that
// has exited does nothing.
func (p *Process) Stop(sig os.Signal, grace time.Duration) {
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
		<-p.done
	}
}

// kill sends SIGKILL to the process, or to its whole process group when
// it was started in a group of its own (SysProcAttr.Setpgid), so that the
// children a server forks go with it.
func (p *Process) kill() {
	if a := p.cmd.SysProcAttr; a != nil && a.Setpgid {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		return
	}
	p.cmd.Process.Kill()
}

// Proc is a process as /proc/PID/stat shows it.
type Proc struct {
	PID, PPID int
	// Comm is the executable's name as the kernel keeps it (at most 15
	// bytes).
	Comm string
	// State is R, S, D, Z (a zombie, exited but not reaped), X (dead), …
	State byte
}

// Running reports whether the process has not exited: it is neither a
// zombie nor dead.
func (p Proc) Running() bool { return p.State != 'Z' && p.State != 'X' }

// ReadProc reads /proc/PID/stat; an error means there is no such process
// (or no /proc).
func ReadProc(pid int) (Proc, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, fmt.Errorf("testproc: %w", err)
	}
	// pid (comm) state ppid …; comm may hold spaces and parentheses.
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	f := strings.Fields(s[end+1:])
	if open < 0 || end < open || len(f) < 2 || len(f[0]) == 0 {
		return Proc{}, fmt.Errorf("testproc: /proc/%d/stat: unexpected %q", pid, s)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return Proc{}, fmt.Errorf("testproc: /proc/%d/stat: %w", pid, err)
	}
	return Proc{PID: pid, PPID: ppid, Comm: s[open+1 : end], State: f[0][0]}, nil
}

// Procs lists the processes under /proc by pid, those that exit while it
// reads left out.
func Procs() (map[int]Proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("testproc: %w", err)
	}
	out := make(map[int]Proc, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := ReadProc(pid); err == nil {
			out[pid] = p
		}
	}
	return out, nil
}

// Descendants returns the pids in procs that descend from root.
func Descendants(procs map[int]Proc, root int) []int {
	var out []int
	for pid := range procs {
		for a := procs[pid].PPID; a > 1; a = procs[a].PPID {
			if a == root {
				out = append(out, pid)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}
