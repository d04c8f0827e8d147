package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// module is this module's path; rules name packages relative to it.
const module = "github.com/hivecrawl/crawl"

// rules is, for each package of the module (relative to its root), the
// packages of the module its non-test files may import. It follows the
// README's "Packages" table and docs/ARCHITECTURE.md: imports go one way,
// down that table, and leaves import nothing of the module. A package's
// tests may import more (the test sites, the conformance suite): only
// non-test imports are checked.
//
// Adding an import that goes down the table is a change to this table, to
// the README's and to the importing package's doc.go, in one commit.
var rules = map[string][]string{
	// The command wires everything; it leaves the test helpers to tests.
	"cmd/crawl": {
		"crawler", "fetch", "frontier", "frontier/disk", "frontier/redis",
		"login", "metrics", "output", "output/dbsink", "parse", "progress", "proxy", "render", "robots", "serve", "session", "sitemap", "urlnorm",
	},
	// An example program is a user of the library, as a user's would be.
	"examples/products": {"crawler", "output", "parse", "testsite"},

	// The engine: never output, metrics, progress or the command, which
	// meet it in cmd/crawl or in a user's program; never a frontier
	// backend, which its caller chooses.
	"crawler": {"fetch", "frontier", "parse", "robots", "sitemap", "urlnorm"},
	"output":  {"crawler", "fetch", "parse"},
	// A form login is a crawler.Login, handed the crawl's Fetcher.
	"login": {"crawler", "fetch", "parse", "urlnorm"},
	// The job service runs crawls the command wires for it.
	"serve": {"crawler", "frontier", "metrics", "progress"},

	"output/mirrortest": {"parse"},
	// The database sink is an output of its own, for its drivers.
	"output/dbsink":   {"crawler", "parse"},
	"internal/testdb": {"internal/testproc"},

	// The frontier and its backends never import the engine.
	"frontier":                 {"frontier/internal/sched"},
	"frontier/internal/sched":  {"frontier/internal/pq"},
	"frontier/internal/pq":     nil,
	"frontier/disk":            {"frontier", "frontier/internal/sched"},
	"frontier/redis":           {"frontier"},
	"frontier/redis/redistest": {"internal/testproc"},
	"frontier/frontiertest":    {"frontier"},

	"parse":   {"urlnorm"},
	"metrics": {"fetch", "proxy"},
	"session": {"fetch"},
	// The proxy pool is a fetch.Options.Proxy and fetch.ProxyFeedback.
	"proxy": {"fetch"},
	// The renderer gets pages and the way to fetch for them in fetch types.
	"render": {"fetch"},

	// Leaves.
	"fetch":             nil,
	"urlnorm":           nil,
	"robots":            nil,
	"sitemap":           nil,
	"progress":          nil,
	"testsite":          nil,
	"internal/archtest": nil,
	"internal/testproc": nil,
}

// pkg is the part of `go list -json`'s output the check reads.
type pkg struct {
	ImportPath string
	Imports    []string
	Error      *struct{ Err string }
}

// violations returns one message for each package of pkgs that imports a
// package of the module its rule does not allow, each package without a
// rule, and each rule without a package, sorted.
func violations(pkgs []pkg, rules map[string][]string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, p := range pkgs {
		rel, ok := relative(p.ImportPath)
		if !ok {
			continue
		}
		seen[rel] = true
		allowed, ok := rules[rel]
		if !ok {
			out = append(out, fmt.Sprintf("%s: no rule: add its row to rules, to the README's Packages table and to its doc.go", rel))
			continue
		}
		for _, imp := range p.Imports {
			dep, ok := relative(imp)
			if !ok || slices.Contains(allowed, dep) {
				continue
			}
			out = append(out, fmt.Sprintf("%s imports %s; it may import only %s", rel, dep, list(allowed)))
		}
	}
	for rel := range rules {
		if !seen[rel] {
			out = append(out, fmt.Sprintf("%s: a rule for a package that does not exist", rel))
		}
	}
	sort.Strings(out)
	return out
}

// relative returns path relative to the module root, and whether path is
// a package of the module. It drops the " [cmd/crawl]" that go list adds
// to the packages it builds for a main package with its own profile
// (cmd/crawl's default.pgo), so that variant is checked as the package.
func relative(path string) (string, bool) {
	path, _, _ = strings.Cut(path, " ")
	if path == module {
		return ".", true
	}
	return strings.CutPrefix(path, module+"/")
}

func list(pkgs []string) string {
	if len(pkgs) == 0 {
		return "nothing of this module"
	}
	return strings.Join(pkgs, ", ")
}

// decode reads the stream of JSON objects `go list -json` writes.
func decode(r io.Reader) ([]pkg, error) {
	var pkgs []pkg
	dec := json.NewDecoder(r)
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			return pkgs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
}

// TestImports lists the module's packages with the go command and checks
// each one's imports against rules.
func TestImports(t *testing.T) {
	// go test puts its own go command first on the test's PATH.
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the packages: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), gocmd, "list", "-e", "-json=ImportPath,Imports,Error", module+"/...")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	pkgs, err := decode(&stdout)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		if p.Error != nil {
			t.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
	}
	if len(pkgs) < len(rules) {
		t.Fatalf("go list found %d packages, fewer than the %d rules", len(pkgs), len(rules))
	}
	for _, v := range violations(pkgs, rules) {
		t.Error(v)
	}
}

// TestViolations checks the checker on made-up packages: each forbidden
// direction the README names is caught, and allowed imports, the standard
// library and other modules are not.
func TestViolations(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	tests := []struct {
		name    string
		pkg     pkg
		wantHit string // "" when the package keeps its rule
	}{
		{"leaf imports the module", pkg{ImportPath: m("fetch"), Imports: []string{"net/http", m("urlnorm")}}, "fetch imports urlnorm"},
		{"parse imports crawler", pkg{ImportPath: m("parse"), Imports: []string{m("urlnorm"), m("crawler")}}, "parse imports crawler"},
		{"crawler imports output", pkg{ImportPath: m("crawler"), Imports: []string{m("frontier"), m("output")}}, "crawler imports output"},
		{"crawler imports metrics", pkg{ImportPath: m("crawler"), Imports: []string{m("metrics")}}, "crawler imports metrics"},
		{"crawler imports a backend", pkg{ImportPath: m("crawler"), Imports: []string{m("frontier/disk")}}, "crawler imports frontier/disk"},
		{"output imports the command", pkg{ImportPath: m("output"), Imports: []string{m("cmd/crawl")}}, "output imports cmd/crawl"},
		{"backend imports crawler", pkg{ImportPath: m("frontier/redis"), Imports: []string{m("frontier"), m("crawler")}}, "frontier/redis imports crawler"},
		{"frontier imports a backend", pkg{ImportPath: m("frontier"), Imports: []string{m("frontier/disk")}}, "frontier imports frontier/disk"},
		{"command imports a test site", pkg{ImportPath: m("cmd/crawl"), Imports: []string{m("crawler"), m("testsite")}}, "cmd/crawl imports testsite"},
		{"a new package", pkg{ImportPath: m("service")}, "service: no rule"},
		{"allowed imports", pkg{ImportPath: m("output"), Imports: []string{"io", m("crawler"), m("fetch"), m("parse")}}, ""},
		{"another module", pkg{ImportPath: m("parse"), Imports: []string{"github.com/hivecrawl/crawlx/crawler", m("urlnorm")}}, ""},
		{"a profile-guided variant", pkg{ImportPath: m("parse") + " [" + m("cmd/crawl") + "]", Imports: []string{m("crawler") + " [" + m("cmd/crawl") + "]"}}, "parse imports crawler"},
		{"not of this module", pkg{ImportPath: "example.com/x", Imports: []string{m("cmd/crawl")}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every rule's package is present, so only tt.pkg can break one.
			var pkgs []pkg
			for rel := range rules {
				pkgs = append(pkgs, pkg{ImportPath: m(rel)})
			}
			pkgs = append(pkgs, tt.pkg)
			got := violations(pkgs, rules)
			if tt.wantHit == "" {
				if len(got) != 0 {
					t.Errorf("violations = %q, want none", got)
				}
				return
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], tt.wantHit) {
				t.Errorf("violations = %q, want one starting %q", got, tt.wantHit)
			}
		})
	}
}

// TestStaleRule checks that a rule for a package that is gone is reported,
// so the table cannot keep describing a package that no longer exists.
func TestStaleRule(t *testing.T) {
	got := violations(nil, map[string][]string{"gone": nil})
	want := []string{"gone: a rule for a package that does not exist"}
	if !slices.Equal(got, want) {
		t.Errorf("violations = %q, want %q", got, want)
	}
}
