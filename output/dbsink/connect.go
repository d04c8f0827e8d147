package dbsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the driver "sqlite"
)

// ErrURL is wrapped by Connect's errors for a URL it cannot use.
var ErrURL = errors.New("dbsink: bad database URL")

// Redact returns raw with its password (user info or a password query
// parameter) hidden, for logs and errors.
func Redact(raw string) string {
	if strings.HasPrefix(raw, "sqlite:") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// CheckURL reports a database URL Connect does not take, without
// connecting.
func CheckURL(raw string) error {
	_, _, err := parseURL(raw, "")
	return err
}

// Connect opens the database of a URL and checks that it answers within
// ctx: postgres://user@host:port/db?… (or postgresql://; pgx's
// parameters), mysql://user:pass@host:port/db (MySQL or MariaDB; a
// socket=PATH parameter for a Unix socket), or sqlite:PATH (a file,
// created if missing, in WAL mode). password, when not empty, replaces
// the URL's. The pool is sized for a Sink: two connections, one for
// SQLite. Errors never include the password.
func Connect(ctx context.Context, raw, password string) (*sql.DB, error) {
	open, kind, err := parseURL(raw, password)
	if err != nil {
		return nil, err
	}
	db := open()
	if kind == "sqlite" {
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(2)
		db.SetMaxIdleConns(2)
		db.SetConnMaxIdleTime(time.Minute)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("dbsink: connect to %s: %w", Redact(raw), scrub(err, password, raw))
	}
	return db, nil
}

// parseURL returns how to open raw's database.
func parseURL(raw, password string) (open func() *sql.DB, kind string, err error) {
	bad := func(format string, a ...any) (func() *sql.DB, string, error) {
		return nil, "", fmt.Errorf("%w: %s: "+format, append([]any{ErrURL, Redact(raw)}, a...)...)
	}
	if path, ok := strings.CutPrefix(raw, "sqlite:"); ok {
		path = strings.TrimPrefix(path, "//")
		if path == "" || strings.ContainsAny(path, "?#") {
			return bad("want sqlite:PATH, a file name without ? or #")
		}
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)" +
			"&_pragma=temp_store(MEMORY)" // statement journals in memory, not in temporary files
		return func() *sql.DB {
			db, _ := sql.Open("sqlite", dsn) // the driver's name is registered by its import; Open only checks the name
			return db
		}, "sqlite", nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL")
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		cfg, err := pgx.ParseConfig(raw)
		if err != nil {
			return bad("%v", scrub(err, password, raw))
		}
		if password != "" {
			cfg.Password = password
		}
		return func() *sql.DB { return stdlib.OpenDB(*cfg) }, "postgres", nil
	case "mysql":
		cfg := mysql.NewConfig()
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		if password != "" {
			cfg.Passwd = password
		}
		cfg.DBName = strings.TrimPrefix(u.Path, "/")
		if cfg.DBName == "" || strings.Contains(cfg.DBName, "/") {
			return bad("want mysql://user:pass@host:port/dbname")
		}
		cfg.Net, cfg.Addr = "tcp", u.Host
		if u.Port() == "" && u.Host != "" {
			cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
		}
		for k, v := range u.Query() {
			switch k {
			case "socket":
				cfg.Net, cfg.Addr = "unix", v[0]
			default:
				return bad("unknown parameter %q (only socket is taken)", k)
			}
		}
		if cfg.Addr == "" {
			return bad("no host")
		}
		cfg.ParseTime, cfg.Loc, cfg.InterpolateParams = true, time.UTC, true
		cfg.Timeout = 10 * time.Second
		// The driver logs broken connections on its own; the Sink reports
		// them (database unavailable, retrying).
		cfg.Logger = &mysql.NopLogger{}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return bad("%v", scrub(err, password, raw))
		}
		return func() *sql.DB { return sql.OpenDB(conn) }, "mysql", nil
	default:
		return bad("unknown scheme %q: want postgres://, mysql:// or sqlite:PATH", u.Scheme)
	}
}

// scrub replaces any password in err's text, belt and braces: the
// drivers' errors name the user and host, not the password.
func scrub(err error, password, raw string) error {
	secrets := []string{password}
	if u, perr := url.Parse(raw); perr == nil {
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p)
		}
		if p := u.Query().Get("password"); p != "" {
			secrets = append(secrets, p)
		}
	}
	msg := err.Error()
	leaked := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg, leaked = strings.ReplaceAll(msg, s, "xxxxx"), true
		}
	}
	if !leaked {
		return err
	}
	return errors.New(msg)
}
