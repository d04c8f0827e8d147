package robots

import (
	"strings"
	"testing"
)

// allowedBy reports whether robots.txt body lets the crawler with User-Agent
// agent fetch rawURL, as Check decides it for a 2xx robots.txt.
func allowedBy(t *testing.T, body, agent, rawURL string) bool {
	t.Helper()
	g, _ := parse([]byte(body), productToken(agent))
	return g == nil || g.allowed(targetOf(mustParse(t, rawURL)))
}

// TestRFC9309 holds this package's own cases for the points of RFC 9309
// the parser it replaced got wrong, each both ways.
func TestRFC9309(t *testing.T) {
	tests := []struct {
		name, body, path string
		want             bool
	}{
		// 2.2.2: "If an allow rule and a disallow rule are equivalent, then
		// the allow rule SHOULD be used", whatever their order.
		{"tie: allow first", "User-agent: *\nAllow: /page\nDisallow: /page\n", "/page", true},
		{"tie: disallow first", "User-agent: *\nDisallow: /page\nAllow: /page\n", "/page", true},
		{"tie: equal lengths, different patterns", "User-agent: *\nDisallow: /pa*\nAllow: /*ge\n", "/page", true},
		{"tie: longer disallow still wins", "User-agent: *\nAllow: /pag\nDisallow: /page\n", "/page", false},
		{"tie: across merged groups", "User-agent: crawl\nDisallow: /x\nUser-agent: crawl\nAllow: /x\n", "/x", true},

		// 2.2.2: the most specific match is the one with the most octets:
		// of the pattern, not of a regular expression built from it.
		{"length: /*.html is 7, /x/page. is 8", "User-agent: *\nAllow: /x/page.\nDisallow: /*.html\n", "/x/page.html", true},
		{"length: /*.html (7) beats /x/pag (6)", "User-agent: *\nAllow: /x/pag\nDisallow: /*.html\n", "/x/page.html", false},
		{"length: /*.html ties /x/page", "User-agent: *\nAllow: /x/page\nDisallow: /*.html\n", "/x/page.html", true},
		{"length: $ counts", "User-agent: *\nDisallow: /a\nAllow: /a$\n", "/a", true},
		{"length: encoded octets count", "User-agent: *\nDisallow: /foo/bar/*\nAllow: /foo/bar/ツ\n", "/foo/bar/%E3%83%84", true},

		// 2.2.2: octets outside US-ASCII in a pattern are percent-encoded
		// before matching, as the URL's are; escapes are compared in one
		// normal form (RFC 3986 6.2.2).
		{"encoding: UTF-8 pattern, encoded URL", "User-agent: *\nDisallow: /\nAllow: /foo/bar/ツ\n", "/foo/bar/%E3%83%84", true},
		{"encoding: UTF-8 pattern, UTF-8 URL", "User-agent: *\nDisallow: /\nAllow: /foo/bar/ツ\n", "/foo/bar/ツ", true},
		{"encoding: encoded pattern, UTF-8 URL", "User-agent: *\nDisallow: /\nAllow: /foo/bar/%E3%83%84\n", "/foo/bar/ツ", true},
		{"encoding: lowercase hex", "User-agent: *\nDisallow: /\nAllow: /foo/bar/%e3%83%84\n", "/foo/bar/%E3%83%84", true},
		{"encoding: lowercase hex in the URL", "User-agent: *\nDisallow: /\nAllow: /foo/bar/%E3%83%84\n", "/foo/bar/%e3%83%84", true},
		{"encoding: unreserved decoded", "User-agent: *\nDisallow: /%7Euser\n", "/~user/x", false},
		{"encoding: reserved kept apart", "User-agent: *\nDisallow: /a%2Fb\n", "/a/b", true},
		{"encoding: reserved kept", "User-agent: *\nDisallow: /a%2fb\n", "/a%2Fb", false},
		{"encoding: a lone percent", "User-agent: *\nDisallow: /100%\n", "/100%25", false},
		{"encoding: space", "User-agent: *\nDisallow: /a b\n", "/a%20b", false},
		{"encoding: other character", "User-agent: *\nDisallow: /ツ\n", "/foo", true},
		{"encoding: in the query", "User-agent: *\nDisallow: /s?q=ツ\n", "/s?q=%E3%83%84", false},

		// 2.2.3 ("#": a comment) and 2.2: a comment may follow a rule.
		{"comment: cuts the rule", "User-agent: *\nDisallow: /foo/quz#qux\nAllow: /\n", "/foo/quz", false},
		{"comment: the rule is /foo/quz", "User-agent: *\nDisallow: /foo/quz#qux\n", "/foo/quzz", false},
		{"comment: the rest is not the rule", "User-agent: *\nDisallow: /foo/quz#qux\n", "/foo/qu", true},
		{"comment: a whole line", "User-agent: *\n# Disallow: /\nDisallow: /a # why\n", "/b", true},
		{"comment: in a User-agent line", "User-agent: crawl # us\nDisallow: /\n", "/a", false},

		// A byte-order mark, whole or cut short, does not cost the first
		// line (as RFC 9309's reference parser reads it).
		{"BOM: whole", "\xef\xbb\xbfUser-agent: *\nDisallow: /a\n", "/a", false},
		{"BOM: two bytes", "\xef\xbbUser-agent: *\nDisallow: /a\n", "/a", false},
		{"BOM: one byte", "\xefUser-agent: *\nDisallow: /a\n", "/a", false},
		{"BOM: broken is a broken line", "\xef\x11\xbfUser-agent: *\nDisallow: /a\n", "/a", true},
		{"BOM: only at the start", "User-agent: *\n\xef\xbb\xbfDisallow: /a\n", "/a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allowedBy(t, tt.body, "crawl/1.0", "http://example.com"+tt.path); got != tt.want {
				t.Errorf("%q on\n%s\nallowed = %v, want %v", tt.path, tt.body, got, tt.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/a/b?c=d&e=f", "/a/b?c=d&e=f"},
		{"/foo/bar/ツ", "/foo/bar/%E3%83%84"},
		{"/%e3%83%84", "/%E3%83%84"},
		{"/%7e%41%2d", "/~A-"},
		{"/%2f%3F%23", "/%2F%3F%23"},
		{"/100%", "/100%25"},
		{"/%zz%4", "/%25zz%254"},
		{"/a b\t\x00\x7f", "/a%20b%09%00%7F"},
		{`/{"x"}|<\^>` + "`", "/%7B%22x%22%7D%7C%3C%5C%5E%3E%60"},
		{"/*.php$", "/*.php$"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := normalize(tt.in); got != tt.want {
			t.Errorf("normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseGroups(t *testing.T) {
	tests := []struct {
		name, body, agent, path string
		want                    bool
	}{
		{"value up to white space", "User-agent: Crawl Bot\nDisallow: /\n", "crawl", "/a", false},
		{"value up to a slash", "User-agent: crawl/2.0\nDisallow: /\n", "crawl", "/a", false},
		{"star with words", "User-agent: * all\nDisallow: /\n", "crawl", "/a", false},
		{"star prefix is no star", "User-agent: *bot\nDisallow: /\n", "crawl", "/a", true},
		{"empty agent", "User-agent:\nDisallow: /\n", "crawl", "/a", true},
		{"empty disallow allows", "User-agent: *\nDisallow:\n", "crawl", "/a", true},
		{"empty disallow ends the agents", "User-agent: crawl\nDisallow:\nUser-agent: *\nDisallow: /\n", "crawl", "/a", true},
		{"own group without rules", "User-agent: *\nDisallow: /\n\nUser-agent: crawl\n", "crawl", "/a", true},
		{"sitemap does not split agents", "User-agent: other\nSitemap: /s.xml\nUser-agent: crawl\nDisallow: /\n", "crawl", "/a", false},
		{"CR line ends", "User-agent: *\rDisallow: /a\r", "crawl", "/a", false},
		{"no final line end", "User-agent: *\nDisallow: /a", "crawl", "/a", false},
		{"dollar inside is literal", "User-agent: *\nDisallow: /a$b\n", "crawl", "/a$b/c", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allowedBy(t, tt.body, tt.agent, "http://example.com"+tt.path); got != tt.want {
				t.Errorf("allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCrawlDelayOfMergedGroups checks that merged groups keep their
// largest Crawl-delay, and that a delay too large for a time.Duration is
// read as the longest one, not as a negative one.
func TestCrawlDelayOfMergedGroups(t *testing.T) {
	g, _ := parse([]byte("User-agent: crawl\nCrawl-delay: 2\nUser-agent: *\nCrawl-delay: 9\nUser-agent: crawl\nCrawl-delay: 5\nCrawl-delay: x\n"), "crawl")
	if g == nil || g.delay.Seconds() != 5 {
		t.Errorf("group %+v: want a 5s delay", g)
	}
	g, _ = parse([]byte("User-agent: *\nCrawl-delay: 1e300\n"), "crawl")
	if g == nil || g.delay <= 0 {
		t.Errorf("group %+v: want the longest delay", g)
	}
}

// TestGoogleConformance runs the matching cases of the reference parser's
// test suite, robots_test.cc in github.com/google/robotstxt (Apache 2.0),
// ported case by case; the test names there are in the case names here.
// Left out: GoogleOnly_ cases for Google's own extensions (index.html as
// a directory, lines cut at 16,664 bytes), checks of that library's API
// (IsValidUserAgentToObey, GetPathParamsQuery, the empty-URL and
// empty-agent calls), and two expectations that RFC 9309 2.2.2 reverses
// for a crawler that percent-encodes its URLs, as this one does; see the
// "ours:" cases.
func TestGoogleConformance(t *testing.T) {
	type check struct {
		agent, url string
		want       bool
	}
	groups := "allow: /foo/bar/\n\nuser-agent: FooBot\ndisallow: /\nallow: /x/\nuser-agent: BarBot\ndisallow: /\nallow: /y/\n\n\nallow: /w/\nuser-agent: BazBot\n\nuser-agent: FooBot\nallow: /z/\ndisallow: /\n"
	lineEnds := []string{
		"User-Agent: foo\nAllow: /some/path\nUser-Agent: bar\n\n\nDisallow: /\n",
		"User-Agent: foo\r\nAllow: /some/path\r\nUser-Agent: bar\r\n\r\n\r\nDisallow: /\r\n",
		"User-Agent: foo\rAllow: /some/path\rUser-Agent: bar\r\r\rDisallow: /\r",
		"User-Agent: foo\nAllow: /some/path\nUser-Agent: bar\n\n\nDisallow: /",
		"User-Agent: foo\nAllow: /some/path\r\nUser-Agent: bar\n\r\n\nDisallow: /",
	}
	docs := func(allow string) string { return "user-agent: FooBot\ndisallow: /\nallow: " + allow + "\n" }
	tests := []struct {
		name   string
		body   string
		checks []check
	}{
		{"ID_LineSyntax_Line correct", "user-agent: FooBot\ndisallow: /\n", []check{{"FooBot", "http://foo.bar/x/y", false}}},
		{"ID_LineSyntax_Line incorrect", "foo: FooBot\nbar: /\n", []check{{"FooBot", "http://foo.bar/x/y", true}}},
		{"ID_LineSyntax_Line incorrect accepted", "user-agent FooBot\ndisallow /\n", []check{{"FooBot", "http://foo.bar/x/y", false}}},
		{"ID_LineSyntax_Groups", groups, []check{
			{"FooBot", "http://foo.bar/x/b", true},
			{"FooBot", "http://foo.bar/z/d", true},
			{"FooBot", "http://foo.bar/y/c", false},
			{"BarBot", "http://foo.bar/y/c", true},
			{"BarBot", "http://foo.bar/w/a", true},
			{"BarBot", "http://foo.bar/z/d", false},
			{"BazBot", "http://foo.bar/z/d", true},
			{"FooBot", "http://foo.bar/foo/bar/", false},
			{"BarBot", "http://foo.bar/foo/bar/", false},
			{"BazBot", "http://foo.bar/foo/bar/", false},
		}},
		{"ID_REPLineNamesCaseInsensitive upper", "USER-AGENT: FooBot\nALLOW: /x/\nDISALLOW: /\n", []check{{"FooBot", "http://foo.bar/x/y", true}, {"FooBot", "http://foo.bar/a/b", false}}},
		{"ID_REPLineNamesCaseInsensitive lower", "user-agent: FooBot\nallow: /x/\ndisallow: /\n", []check{{"FooBot", "http://foo.bar/x/y", true}, {"FooBot", "http://foo.bar/a/b", false}}},
		{"ID_REPLineNamesCaseInsensitive camel", "uSeR-aGeNt: FooBot\nAlLoW: /x/\ndIsAlLoW: /\n", []check{{"FooBot", "http://foo.bar/x/y", true}, {"FooBot", "http://foo.bar/a/b", false}}},
		{"ID_UserAgentValueCaseInsensitive upper", "User-Agent: FOO BAR\nAllow: /x/\nDisallow: /\n", []check{{"Foo", "http://foo.bar/x/y", true}, {"Foo", "http://foo.bar/a/b", false}, {"foo", "http://foo.bar/x/y", true}, {"foo", "http://foo.bar/a/b", false}}},
		{"ID_UserAgentValueCaseInsensitive lower", "User-Agent: foo bar\nAllow: /x/\nDisallow: /\n", []check{{"Foo", "http://foo.bar/x/y", true}, {"Foo", "http://foo.bar/a/b", false}, {"foo", "http://foo.bar/x/y", true}, {"foo", "http://foo.bar/a/b", false}}},
		{"ID_UserAgentValueCaseInsensitive camel", "User-Agent: FoO bAr\nAllow: /x/\nDisallow: /\n", []check{{"Foo", "http://foo.bar/x/y", true}, {"Foo", "http://foo.bar/a/b", false}, {"foo", "http://foo.bar/x/y", true}, {"foo", "http://foo.bar/a/b", false}}},
		{"GoogleOnly_AcceptUserAgentUpToFirstSpace", "User-Agent: *\nDisallow: /\nUser-Agent: Foo Bar\nAllow: /x/\nDisallow: /\n", []check{{"Foo", "http://foo.bar/x/y", true}}},
		{"ID_GlobalGroups_Secondary empty", "", []check{{"FooBot", "http://foo.bar/x/y", true}}},
		{"ID_GlobalGroups_Secondary global", "user-agent: *\nallow: /\nuser-agent: FooBot\ndisallow: /\n", []check{{"FooBot", "http://foo.bar/x/y", false}, {"BarBot", "http://foo.bar/x/y", true}}},
		{"ID_GlobalGroups_Secondary only specific", "user-agent: FooBot\nallow: /\nuser-agent: BarBot\ndisallow: /\nuser-agent: BazBot\ndisallow: /\n", []check{{"QuxBot", "http://foo.bar/x/y", true}}},
		{"ID_AllowDisallow_Value_CaseSensitive lower", "user-agent: FooBot\ndisallow: /x/\n", []check{{"FooBot", "http://foo.bar/x/y", false}}},
		{"ID_AllowDisallow_Value_CaseSensitive upper", "user-agent: FooBot\ndisallow: /X/\n", []check{{"FooBot", "http://foo.bar/x/y", true}}},
		{"ID_LongestMatch 1", "user-agent: FooBot\ndisallow: /x/page.html\nallow: /x/\n", []check{{"FooBot", "http://foo.bar/x/page.html", false}}},
		{"ID_LongestMatch 2", "user-agent: FooBot\nallow: /x/page.html\ndisallow: /x/\n", []check{{"FooBot", "http://foo.bar/x/page.html", true}, {"FooBot", "http://foo.bar/x/", false}}},
		{"ID_LongestMatch 3", "user-agent: FooBot\ndisallow: \nallow: \n", []check{{"FooBot", "http://foo.bar/x/page.html", true}}},
		{"ID_LongestMatch 4", "user-agent: FooBot\ndisallow: /\nallow: /\n", []check{{"FooBot", "http://foo.bar/x/page.html", true}}},
		{"ID_LongestMatch 5", "user-agent: FooBot\ndisallow: /x\nallow: /x/\n", []check{{"FooBot", "http://foo.bar/x", false}, {"FooBot", "http://foo.bar/x/", true}}},
		{"ID_LongestMatch 6", "user-agent: FooBot\ndisallow: /x/page.html\nallow: /x/page.html\n", []check{{"FooBot", "http://foo.bar/x/page.html", true}}},
		{"ID_LongestMatch 7", "user-agent: FooBot\nallow: /page\ndisallow: /*.html\n", []check{{"FooBot", "http://foo.bar/page.html", false}, {"FooBot", "http://foo.bar/page", true}}},
		{"ID_LongestMatch 8", "user-agent: FooBot\nallow: /x/page.\ndisallow: /*.html\n", []check{{"FooBot", "http://foo.bar/x/page.html", true}, {"FooBot", "http://foo.bar/x/y.html", false}}},
		{"ID_LongestMatch 9", "User-agent: *\nDisallow: /x/\nUser-agent: FooBot\nDisallow: /y/\n", []check{{"FooBot", "http://foo.bar/x/page", true}, {"FooBot", "http://foo.bar/y/page", false}}},
		{"ID_Encoding query", "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar?qux=taz&baz=http://foo.bar?tar&par\n", []check{{"FooBot", "http://foo.bar/foo/bar?qux=taz&baz=http://foo.bar?tar&par", true}}},
		{"ID_Encoding 3-byte", "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/ツ\n", []check{
			{"FooBot", "http://foo.bar/foo/bar/%E3%83%84", true},
			// ours: Google expects false, leaving URLs to its callers to
			// encode; this crawler's URLs are encoded (2.2.2).
			{"FooBot", "http://foo.bar/foo/bar/ツ", true},
		}},
		{"ID_Encoding percent-encoded 3-byte", "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/%E3%83%84\n", []check{
			{"FooBot", "http://foo.bar/foo/bar/%E3%83%84", true},
			// ours: as above.
			{"FooBot", "http://foo.bar/foo/bar/ツ", true},
		}},
		{"ID_Encoding percent-encoded unreserved", "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/%62%61%7A\n", []check{
			// ours: Google expects false ("illegal according to RFC3986
			// ... should not be relied on"); RFC 3986 6.2.2.2 makes %62%61%7A
			// and baz one path, and this package compares them as one.
			{"FooBot", "http://foo.bar/foo/bar/baz", true},
			{"FooBot", "http://foo.bar/foo/bar/%62%61%7A", true},
		}},
		{"ID_SpecialCharacters star", "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n", []check{
			{"FooBot", "http://foo.bar/foo/bar/quz", false},
			{"FooBot", "http://foo.bar/foo/quz", true},
			{"FooBot", "http://foo.bar/foo//quz", true},
			{"FooBot", "http://foo.bar/foo/bax/quz", true},
		}},
		{"ID_SpecialCharacters dollar", "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n", []check{
			{"FooBot", "http://foo.bar/foo/bar", false},
			{"FooBot", "http://foo.bar/foo/bar/qux", true},
			{"FooBot", "http://foo.bar/foo/bar/", true},
			{"FooBot", "http://foo.bar/foo/bar/baz", true},
		}},
		{"ID_SpecialCharacters hash", "User-agent: FooBot\n# Disallow: /\nDisallow: /foo/quz#qux\nAllow: /\n", []check{
			{"FooBot", "http://foo.bar/foo/bar", true},
			{"FooBot", "http://foo.bar/foo/quz", false},
		}},
		{"GoogleOnly_DocumentationChecks /fish", docs("/fish"), []check{
			{"FooBot", "http://foo.bar/bar", false},
			{"FooBot", "http://foo.bar/fish", true},
			{"FooBot", "http://foo.bar/fish.html", true},
			{"FooBot", "http://foo.bar/fish/salmon.html", true},
			{"FooBot", "http://foo.bar/fishheads", true},
			{"FooBot", "http://foo.bar/fishheads/yummy.html", true},
			{"FooBot", "http://foo.bar/fish.html?id=anything", true},
			{"FooBot", "http://foo.bar/Fish.asp", false},
			{"FooBot", "http://foo.bar/catfish", false},
			{"FooBot", "http://foo.bar/?id=fish", false},
		}},
		{"GoogleOnly_DocumentationChecks /fish*", docs("/fish*"), []check{
			{"FooBot", "http://foo.bar/bar", false},
			{"FooBot", "http://foo.bar/fish", true},
			{"FooBot", "http://foo.bar/fish.html", true},
			{"FooBot", "http://foo.bar/fish/salmon.html", true},
			{"FooBot", "http://foo.bar/fishheads", true},
			{"FooBot", "http://foo.bar/fishheads/yummy.html", true},
			{"FooBot", "http://foo.bar/fish.html?id=anything", true},
			{"FooBot", "http://foo.bar/Fish.bar", false},
			{"FooBot", "http://foo.bar/catfish", false},
			{"FooBot", "http://foo.bar/?id=fish", false},
		}},
		{"GoogleOnly_DocumentationChecks /fish/", docs("/fish/"), []check{
			{"FooBot", "http://foo.bar/bar", false},
			{"FooBot", "http://foo.bar/fish/", true},
			{"FooBot", "http://foo.bar/fish/salmon", true},
			{"FooBot", "http://foo.bar/fish/?salmon", true},
			{"FooBot", "http://foo.bar/fish/salmon.html", true},
			{"FooBot", "http://foo.bar/fish/?id=anything", true},
			{"FooBot", "http://foo.bar/fish", false},
			{"FooBot", "http://foo.bar/fish.html", false},
			{"FooBot", "http://foo.bar/Fish/Salmon.html", false},
		}},
		{"GoogleOnly_DocumentationChecks /*.php", docs("/*.php"), []check{
			{"FooBot", "http://foo.bar/bar", false},
			{"FooBot", "http://foo.bar/filename.php", true},
			{"FooBot", "http://foo.bar/folder/filename.php", true},
			{"FooBot", "http://foo.bar/folder/filename.php?parameters", true},
			{"FooBot", "http://foo.bar//folder/any.php.file.html", true},
			{"FooBot", "http://foo.bar/filename.php/", true},
			{"FooBot", "http://foo.bar/index?f=filename.php/", true},
			{"FooBot", "http://foo.bar/php/", false},
			{"FooBot", "http://foo.bar/index?php", false},
			{"FooBot", "http://foo.bar/windows.PHP", false},
		}},
		{"GoogleOnly_DocumentationChecks /*.php$", docs("/*.php$"), []check{
			{"FooBot", "http://foo.bar/bar", false},
			{"FooBot", "http://foo.bar/filename.php", true},
			{"FooBot", "http://foo.bar/folder/filename.php", true},
			{"FooBot", "http://foo.bar/filename.php?parameters", false},
			{"FooBot", "http://foo.bar/filename.php/", false},
			{"FooBot", "http://foo.bar/filename.php5", false},
			{"FooBot", "http://foo.bar/php/", false},
			{"FooBot", "http://foo.bar/filename?php", false},
			{"FooBot", "http://foo.bar/aaaphpaaa", false},
			{"FooBot", "http://foo.bar//windows.PHP", false},
		}},
		{"GoogleOnly_DocumentationChecks /fish*.php", docs("/fish*.php"), []check{
			{"FooBot", "http://foo.bar/bar", false},
			{"FooBot", "http://foo.bar/fish.php", true},
			{"FooBot", "http://foo.bar/fishheads/catfish.php?parameters", true},
			{"FooBot", "http://foo.bar/Fish.PHP", false},
		}},
		{"GoogleOnly_DocumentationChecks precedence 1", "user-agent: FooBot\nallow: /p\ndisallow: /\n", []check{{"FooBot", "http://example.com/page", true}}},
		{"GoogleOnly_DocumentationChecks precedence 2", "user-agent: FooBot\nallow: /folder\ndisallow: /folder\n", []check{{"FooBot", "http://example.com/folder/page", true}}},
		{"GoogleOnly_DocumentationChecks precedence 3", "user-agent: FooBot\nallow: /page\ndisallow: /*.htm\n", []check{{"FooBot", "http://example.com/page.htm", false}}},
		{"GoogleOnly_DocumentationChecks precedence 4", "user-agent: FooBot\nallow: /$\ndisallow: /\n", []check{{"FooBot", "http://example.com/", true}, {"FooBot", "http://example.com/page.html", false}}},
		// ID_UTF8ByteOrderMarkIsSkipped counts directives; here the same
		// files with Disallow for Allow show which lines were read.
		{"ID_UTF8ByteOrderMarkIsSkipped full", "\xEF\xBB\xBFUser-Agent: foo\nDisallow: /AnyValue\n", []check{{"foo", "http://foo.bar/AnyValue", false}}},
		{"ID_UTF8ByteOrderMarkIsSkipped partial 2", "\xEF\xBBUser-Agent: foo\nDisallow: /AnyValue\n", []check{{"foo", "http://foo.bar/AnyValue", false}}},
		{"ID_UTF8ByteOrderMarkIsSkipped partial 1", "\xEFUser-Agent: foo\nDisallow: /AnyValue\n", []check{{"foo", "http://foo.bar/AnyValue", false}}},
		{"ID_UTF8ByteOrderMarkIsSkipped broken", "\xEF\x11\xBFUser-Agent: foo\nDisallow: /AnyValue\n", []check{{"foo", "http://foo.bar/AnyValue", true}}},
		{"ID_UTF8ByteOrderMarkIsSkipped middle", "User-Agent: foo\n\xEF\xBB\xBFDisallow: /AnyValue\n", []check{{"foo", "http://foo.bar/AnyValue", true}}},
	}
	// ID_LinesNumbersAreCountedCorrectly: every kind of line end.
	for i, body := range lineEnds {
		tests = append(tests, struct {
			name   string
			body   string
			checks []check
		}{"ID_LinesNumbersAreCountedCorrectly " + string(rune('a'+i)), body, []check{
			{"foo", "http://foo.bar/some/path", true},
			{"foo", "http://foo.bar/other", true},
			{"bar", "http://foo.bar/some/path", false},
		}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range tt.checks {
				if got := allowedBy(t, tt.body, c.agent, c.url); got != c.want {
					t.Errorf("%s %s: allowed = %v, want %v", c.agent, c.url, got, c.want)
				}
			}
		})
	}
}

// TestGoogleSitemapLines ports ID_NonStandardLineExample_Sitemap: a
// Sitemap line is read wherever it is.
func TestGoogleSitemapLines(t *testing.T) {
	const loc = "http://foo.bar/sitemap.xml"
	groups := "User-Agent: foo\nAllow: /some/path\nUser-Agent: bar\n\n\n"
	for _, body := range []string{groups + "Sitemap: " + loc + "\n", "Sitemap: " + loc + "\n" + groups} {
		if _, sm := parse([]byte(body), "foo"); strings.Join(sm, " ") != loc {
			t.Errorf("sitemaps %q, want %q", sm, loc)
		}
	}
}
