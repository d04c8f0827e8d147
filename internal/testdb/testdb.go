// Package testdb starts throwaway PostgreSQL and MariaDB servers for
// tests and benchmarks: on a free loopback port, with their data in a
// temporary directory, password authentication on, stopped by Close.
//
// When a server's binaries are not installed, Start returns an error
// wrapping ErrNotInstalled; Shared.Get then skips the test with a message
// saying so, except in CI (the environment variable CI is "true"), where
// it fails it: there a missing server is a broken setup, not a choice.
//
// PostgreSQL refuses to run as root: as root, initdb and postgres run as
// the "postgres" user (which the Debian package creates).
//
// Package testdb imports only internal/testproc of this module (which runs
// the processes); only tests and the benchmark import it.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hivecrawl/crawl/internal/testproc"
)

// ErrNotInstalled is wrapped by Start's error when the server's binaries
// are missing.
var ErrNotInstalled = errors.New("testdb: server not installed")

// Kind names a database server.
type Kind string

// The servers testdb starts.
const (
	Postgres Kind = "postgres"
	MariaDB  Kind = "mariadb"
)

// Server is one database server process. User and Password are an
// account that may create databases (NewDatabase grants it each one).
// Its methods are safe for concurrent use.
type Server struct {
	Kind     Kind
	User     string
	Password string

	dir   string // removed by Close
	port  int
	args  []string
	bin   string
	cred  *syscall.Credential
	admin *sql.DB

	mu   sync.Mutex
	proc *testproc.Process // nil while stopped
	n    int               // databases made
}

// pgBin is where Debian installs PostgreSQL 15.
const pgBin = "/usr/lib/postgresql/15/bin"

// Start starts a server of kind.
func Start(kind Kind) (*Server, error) {
	switch kind {
	case Postgres:
		return startPostgres()
	case MariaDB:
		return startMariaDB()
	}
	return nil, fmt.Errorf("testdb: unknown kind %q", kind)
}

func secret() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func startPostgres() (s *Server, err error) {
	initdb, postgres := filepath.Join(pgBin, "initdb"), filepath.Join(pgBin, "postgres")
	for _, b := range []string{initdb, postgres} {
		if _, err := os.Stat(b); err != nil {
			return nil, fmt.Errorf("%w: %s (Debian package postgresql)", ErrNotInstalled, b)
		}
	}
	s = &Server{Kind: Postgres, User: "crawl", Password: secret(), bin: postgres}
	if s.dir, err = os.MkdirTemp("", "testdb-pg-"); err != nil {
		return nil, err
	}
	defer func(srv *Server) { // srv: a failed return has set s to nil
		if err != nil {
			srv.Close()
		}
	}(s)
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("testdb: PostgreSQL refuses root, and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(s.dir, uid, gid); err != nil {
			return nil, err
		}
	}
	superPass := secret()
	pw := filepath.Join(s.dir, "pw")
	if err := os.WriteFile(pw, []byte(superPass+"\n"), 0o600); err != nil {
		return nil, err
	}
	if s.cred != nil {
		os.Chown(pw, int(s.cred.Uid), int(s.cred.Gid))
	}
	data := filepath.Join(s.dir, "data")
	init := exec.Command(initdb, "-D", data, "-U", "postgres", "--pwfile", pw, "--auth-local=trust",
		"--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C")
	init.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := init.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testdb: initdb: %v\n%s", err, out)
	}
	if s.port, err = testproc.FreePort(); err != nil {
		return nil, err
	}
	s.args = []string{"-D", data, "-p", strconv.Itoa(s.port), "-k", s.dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "shared_buffers=64MB", "-c", "max_connections=100"}
	if err := s.start(); err != nil {
		return nil, err
	}
	s.admin = stdlib.OpenDB(*mustPgConfig(fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable", superPass, s.port)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	if _, err := s.admin.ExecContext(ctx, fmt.Sprintf("CREATE ROLE crawl LOGIN CREATEDB PASSWORD '%s'", s.Password)); err != nil {
		return nil, fmt.Errorf("testdb: create role: %w", err)
	}
	return s, nil
}

func startMariaDB() (s *Server, err error) {
	install, err1 := exec.LookPath("mariadb-install-db")
	mariadbd, err2 := exec.LookPath("mariadbd")
	if err1 != nil || err2 != nil {
		for _, p := range []string{"/usr/sbin/mariadbd", "/usr/bin/mariadbd"} {
			if _, err := os.Stat(p); err == nil {
				mariadbd, err2 = p, nil
			}
		}
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: mariadb-install-db and mariadbd (Debian package mariadb-server)", ErrNotInstalled)
		}
	}
	s = &Server{Kind: MariaDB, User: "crawl", Password: secret(), bin: mariadbd}
	if s.dir, err = os.MkdirTemp("", "testdb-maria-"); err != nil {
		return nil, err
	}
	defer func(srv *Server) { // srv: a failed return has set s to nil
		if err != nil {
			srv.Close()
		}
	}(s)
	data := filepath.Join(s.dir, "data")
	who := "--user=" + currentUser()
	inst := exec.Command(install, "--no-defaults", "--datadir="+data, who, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve")
	if out, err := inst.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testdb: mariadb-install-db: %v\n%s", err, out)
	}
	if s.port, err = testproc.FreePort(); err != nil {
		return nil, err
	}
	sock := filepath.Join(s.dir, "mysqld.sock")
	s.args = []string{"--no-defaults", "--datadir=" + data, who, "--port=" + strconv.Itoa(s.port),
		"--bind-address=127.0.0.1", "--socket=" + sock, "--pid-file=" + filepath.Join(s.dir, "mysqld.pid"),
		"--skip-name-resolve", "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=2",
		"--innodb-log-file-size=48M", "--max-connections=100", "--log-error=" + filepath.Join(s.dir, "error.log")}
	if err := s.start(); err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "unix", sock
	cfg.Logger = &mysql.NopLogger{}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	s.admin = sql.OpenDB(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	for _, q := range []string{
		fmt.Sprintf("CREATE USER 'crawl'@'%%' IDENTIFIED BY '%s'", s.Password),
		"GRANT ALL ON *.* TO 'crawl'@'%'",
	} {
		if _, err := s.admin.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("testdb: %s: %w", q, err)
		}
	}
	return s, nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "root"
}

func mustPgConfig(raw string) *pgx.ConnConfig {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		panic(err) // a constant URL of this package
	}
	return cfg
}

// start starts the server process and waits for its port to accept.
func (s *Server) start() error {
	cmd := exec.Command(s.bin, s.args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true}
	logf, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		return err
	}
	p, err := testproc.Start(cmd, logf, 60*time.Second, func() error {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("testdb: %s on %s: %w\n%s", s.Kind, s.Addr(), err, s.Log())
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

// waitReady pings the admin connection until it answers.
func (s *Server) waitReady(ctx context.Context) error {
	for {
		err := s.admin.PingContext(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testdb: %s not answering: %v\n%s", s.Kind, err, s.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Log returns what the server wrote to its log.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	e, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
	return string(b) + string(e)
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL returns the URL of database name for user and password, as crawl's
// --db takes it.
func (s *Server) URL(name, user, password string) string {
	u := url.URL{User: url.UserPassword(user, password), Host: s.Addr(), Path: "/" + name}
	switch s.Kind {
	case Postgres:
		u.Scheme, u.RawQuery = "postgres", "sslmode=disable"
	default:
		u.Scheme = "mysql"
	}
	return u.String()
}

// NewDatabase creates an empty database the User owns and returns its
// name.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	s.mu.Lock()
	s.n++
	name := fmt.Sprintf("t%d_%s", s.n, secret()[:6])
	s.mu.Unlock()
	q := "CREATE DATABASE " + name
	if s.Kind == Postgres {
		q += " OWNER crawl"
	}
	if _, err := s.admin.ExecContext(ctx, q); err != nil {
		return "", fmt.Errorf("testdb: %s: %w", q, err)
	}
	return name, nil
}

// Exec runs a statement as the server's superuser, in its default
// database.
func (s *Server) Exec(ctx context.Context, q string) error {
	if _, err := s.admin.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("testdb: %s: %w", q, err)
	}
	return nil
}

// Stop shuts the server down (a fast shutdown: sessions are cut) and
// waits for it to exit. Restart starts it again.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	sig := syscall.SIGTERM
	if s.Kind == Postgres {
		sig = syscall.SIGINT // fast shutdown; SIGTERM waits for the sessions
	}
	p.Stop(sig, 30*time.Second) // then SIGKILL to the process group
}

// Restart starts the server again after Stop, on the same port and data.
func (s *Server) Restart() error {
	var err error
	for range 50 { // the port may linger a moment
		if err = s.start(); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			return s.waitReady(ctx)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Close stops the server and removes its directory.
func (s *Server) Close() {
	if s.admin != nil {
		s.admin.Close()
	}
	s.Stop()
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// Shared is a server started on first use and shared by a test binary's
// tests: call Close from TestMain after m.Run. The zero value is ready.
type Shared struct {
	once sync.Once
	s    *Server
	err  error
}

// Get returns the server of kind, starting it on the first call. When its
// binaries are missing it skips t, or fails it under CI=true; another
// start failure fails t.
func (sh *Shared) Get(t testing.TB, kind Kind) *Server {
	t.Helper()
	sh.once.Do(func() { sh.s, sh.err = Start(kind) })
	return Require(t, sh.s, sh.err)
}

// Require returns s, or ends t on err as Get says.
func Require(t testing.TB, s *Server, err error) *Server {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v; CI must install it", err)
		}
		t.Skipf("%v: skipping a test that needs a real database server", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Close closes the server if one was started.
func (sh *Shared) Close() {
	if sh.s != nil {
		sh.s.Close()
	}
}
