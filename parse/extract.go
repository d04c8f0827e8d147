package parse

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
)

// Rule is an extraction rule: on pages whose URL matches URL it yields one
// Item per element matched by Each, with Fields evaluated inside that
// element, or one Item per page when Each is empty. Rules are plain data,
// decoded from a crawl config; NewExtractor checks and compiles them.
type Rule struct {
	// Name identifies the rule: it is the "rule" of every item it yields
	// and is named in configuration errors. Required and unique.
	Name string `yaml:"name" json:"name"`
	// URL is a regular expression (RE2 syntax) matched against the page's
	// URL after redirects; the rule applies where it matches anywhere.
	// Empty matches every page.
	URL string `yaml:"url" json:"url,omitempty"`
	// Each is a CSS selector: one item per matched element (each product
	// card of a listing), with the element as the fields' context. Empty
	// means one item per page, with the whole document as context.
	Each string `yaml:"each" json:"each,omitempty"`
	// Fields are the item's fields, in order; CSV columns follow it. At
	// least one is required.
	Fields []FieldRule `yaml:"fields" json:"fields"`
}

// FieldRule extracts one named value from a context element (the document,
// an element matched by Rule.Each, or one of a nested list's records).
type FieldRule struct {
	// Name is the field's key in the item. Required, unique among its
	// siblings, and neither "url" nor "rule" at the top level.
	Name string `yaml:"name" json:"name"`
	// Selector is a CSS selector matched against the context element's
	// descendants. Empty means the context element itself.
	Selector string `yaml:"selector" json:"selector,omitempty"`
	// Attr takes the value of this attribute of the matched element
	// instead of its text. An element without it has no value.
	Attr string `yaml:"attr" json:"attr,omitempty"`
	// HTML takes the matched element's inner HTML instead of its text.
	HTML bool `yaml:"html" json:"html,omitempty"`
	// List takes a value from every matched element, giving a list, instead
	// of from the first. Elements with no value are left out of the list.
	List bool `yaml:"list" json:"list,omitempty"`
	// Fields makes the value a list of nested records, one per matched
	// element, each with these fields evaluated inside that element. Attr,
	// HTML and Transform do not apply to such a field.
	Fields []FieldRule `yaml:"fields" json:"fields,omitempty"`
	// Transform is applied to each value, in order:
	//   - "trim": remove leading and trailing white space;
	//   - "collapse": trim, and replace each run of white space inside by
	//     one space;
	//   - "regex:RE": the first submatch of RE (RE2 syntax), or the whole
	//     match when RE has no group; no match means no value;
	//   - "absurl": resolve the value as a URL reference against the
	//     page's base URL; an empty value has no value;
	//   - "number": parse a decimal number (white space and "," separators
	//     ignored), giving a JSON number; anything else has no value. It
	//     must come last.
	Transform []string `yaml:"transform" json:"transform,omitempty"`
	// Required drops the item (or the nested record) when this field has
	// no value: null, an empty string or an empty list.
	Required bool `yaml:"required" json:"required,omitempty"`
}

// RuleError reports a rule that cannot be compiled: an invalid selector,
// regular expression, transform or field layout.
type RuleError struct {
	Rule  string // the rule's name (or its position when it has none)
	Field string // the field's path, such as "variants.price"; empty for the rule itself
	Err   error
}

func (e *RuleError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("parse: rule %q: %v", e.Rule, e.Err)
	}
	return fmt.Sprintf("parse: rule %q: field %q: %v", e.Rule, e.Field, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// Extractor applies compiled extraction rules to parsed pages. Build it with
// NewExtractor; it is read-only afterwards and safe for concurrent use.
type Extractor struct {
	rules   []compiledRule
	columns []string
}

type compiledRule struct {
	name   string
	url    *regexp.Regexp // nil: every page
	each   cascadia.Selector
	fields []compiledField
}

type compiledField struct {
	name     string
	sel      cascadia.Selector // nil: the context element
	attr     string
	html     bool
	list     bool
	required bool
	fields   []compiledField // non-nil: a list of nested records
	steps    []step
	number   bool
}

// step is one string transform; ok false means the value is gone.
type step func(v string, base *url.URL) (string, bool)

// NewExtractor checks and compiles rules. The first problem found is
// returned as a *RuleError naming the rule and the field.
func NewExtractor(rules []Rule) (*Extractor, error) {
	e := &Extractor{columns: []string{"url", "rule"}}
	names := make(map[string]bool)
	cols := map[string]bool{"url": true, "rule": true}
	for i, r := range rules {
		label := r.Name
		if label == "" {
			label = fmt.Sprintf("#%d", i+1)
		}
		bad := func(field string, err error) error { return &RuleError{Rule: label, Field: field, Err: err} }
		switch {
		case r.Name == "":
			return nil, bad("", errors.New("no name"))
		case names[r.Name]:
			return nil, bad("", errors.New("duplicate rule name"))
		case len(r.Fields) == 0:
			return nil, bad("", errors.New("no fields"))
		}
		names[r.Name] = true
		cr := compiledRule{name: r.Name}
		if r.URL != "" {
			re, err := regexp.Compile(r.URL)
			if err != nil {
				return nil, bad("", fmt.Errorf("url pattern: %w", err))
			}
			cr.url = re
		}
		if r.Each != "" {
			sel, err := cascadia.Compile(r.Each)
			if err != nil {
				return nil, bad("", fmt.Errorf("each selector %q: %w", r.Each, err))
			}
			cr.each = sel
		}
		fields, err := compileFields(r.Fields, "", true)
		if err != nil {
			var re *RuleError
			if errors.As(err, &re) {
				re.Rule = label
			}
			return nil, err
		}
		cr.fields = fields
		for _, f := range r.Fields {
			if !cols[f.Name] {
				cols[f.Name] = true
				e.columns = append(e.columns, f.Name)
			}
		}
		e.rules = append(e.rules, cr)
	}
	return e, nil
}

func compileFields(specs []FieldRule, prefix string, top bool) ([]compiledField, error) {
	seen := make(map[string]bool, len(specs))
	out := make([]compiledField, 0, len(specs))
	for _, f := range specs {
		path := prefix + f.Name
		bad := func(format string, a ...any) error {
			return &RuleError{Field: path, Err: fmt.Errorf(format, a...)}
		}
		switch {
		case f.Name == "":
			return nil, bad("no name")
		case seen[f.Name]:
			return nil, bad("duplicate field name")
		case top && (f.Name == "url" || f.Name == "rule"):
			return nil, bad("name is reserved for the item's own %s", f.Name)
		case f.Attr != "" && f.HTML:
			return nil, bad("attr and html are exclusive")
		case len(f.Fields) > 0 && (f.Attr != "" || f.HTML || len(f.Transform) > 0):
			return nil, bad("a field with nested fields takes no attr, html or transform")
		}
		seen[f.Name] = true
		cf := compiledField{name: f.Name, attr: f.Attr, html: f.HTML, list: f.List, required: f.Required}
		if f.Selector != "" {
			sel, err := cascadia.Compile(f.Selector)
			if err != nil {
				return nil, bad("selector %q: %v", f.Selector, err)
			}
			cf.sel = sel
		}
		if len(f.Fields) > 0 {
			nested, err := compileFields(f.Fields, path+".", false)
			if err != nil {
				return nil, err
			}
			cf.fields = nested
		}
		for i, t := range f.Transform {
			if cf.number {
				return nil, bad("transform %q after number: number must come last", t)
			}
			name, arg, _ := strings.Cut(t, ":")
			switch strings.TrimSpace(name) {
			case "trim":
				cf.steps = append(cf.steps, trimStep)
			case "collapse":
				cf.steps = append(cf.steps, collapseStep)
			case "absurl":
				cf.steps = append(cf.steps, absURLStep)
			case "number":
				cf.number = true
			case "regex":
				re, err := regexp.Compile(arg)
				if err != nil {
					return nil, bad("transform %d: regex: %v", i+1, err)
				}
				cf.steps = append(cf.steps, regexStep(re))
			default:
				return nil, bad("unknown transform %q (want trim, collapse, regex:RE, absurl or number)", t)
			}
		}
		out = append(out, cf)
	}
	return out, nil
}

// Columns returns the CSV header for the items of all rules: "url",
// "rule", then each distinct top-level field name in rule order.
func (e *Extractor) Columns() []string { return append([]string(nil), e.columns...) }

// Extract applies every rule whose URL pattern matches the page and returns
// the items, rule by rule in order. A page without a parsed document yields
// none. The items belong to the caller.
func (e *Extractor) Extract(p *Page) []Item {
	if e == nil || p == nil || p.Doc == nil || p.URL == nil {
		return nil
	}
	pageURL := p.URL.String()
	base := p.Base
	if base == nil {
		base = p.URL
	}
	var items []Item
	for i := range e.rules {
		r := &e.rules[i]
		if r.url != nil && !r.url.MatchString(pageURL) {
			continue
		}
		ev := evaluator{doc: p.Doc, base: base}
		if r.each == nil {
			if rec, ok := ev.record(r.fields, p.Doc.Selection); ok {
				items = append(items, Item{URL: pageURL, Rule: r.name, Fields: rec})
			}
			continue
		}
		for _, n := range p.Doc.FindMatcher(r.each).Nodes {
			if rec, ok := ev.record(r.fields, p.Doc.FindNodes(n)); ok {
				items = append(items, Item{URL: pageURL, Rule: r.name, Fields: rec})
			}
		}
	}
	return items
}

// evaluator evaluates fields on one page.
type evaluator struct {
	doc  *goquery.Document
	base *url.URL
}

// record evaluates fields inside ctx; ok is false when a required field
// has no value.
func (ev evaluator) record(fields []compiledField, ctx *goquery.Selection) (Record, bool) {
	rec := make(Record, 0, len(fields))
	for i := range fields {
		f := &fields[i]
		v := ev.field(f, ctx)
		if f.required && empty(v) {
			return nil, false
		}
		rec = append(rec, Field{Name: f.name, Value: v})
	}
	return rec, true
}

// field evaluates f inside ctx.
func (ev evaluator) field(f *compiledField, ctx *goquery.Selection) any {
	matched := ctx
	if f.sel != nil {
		matched = ctx.FindMatcher(f.sel)
	}
	if f.fields != nil {
		recs := make([]Record, 0, matched.Length())
		for _, n := range matched.Nodes {
			// A selection of n alone: the document contains every node.
			if rec, ok := ev.record(f.fields, ev.doc.FindNodes(n)); ok {
				recs = append(recs, rec)
			}
		}
		return recs
	}
	if f.list {
		vals := make([]any, 0, matched.Length())
		for _, n := range matched.Nodes {
			if v := f.value(n, ev.base); v != nil {
				vals = append(vals, v)
			}
		}
		return vals
	}
	if len(matched.Nodes) == 0 {
		return nil
	}
	return f.value(matched.Nodes[0], ev.base)
}

// value is the transformed value of one element: a string, a float64, or
// nil for no value.
func (f *compiledField) value(n *html.Node, base *url.URL) any {
	var s string
	switch {
	case f.attr != "":
		v, ok := attrOf(n, f.attr)
		if !ok {
			return nil
		}
		s = v
	case f.html:
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if err := html.Render(&b, c); err != nil {
				return nil
			}
		}
		s = b.String()
	default:
		s = textOf(n)
	}
	for _, st := range f.steps {
		var ok bool
		if s, ok = st(s, base); !ok {
			return nil
		}
	}
	if f.number {
		return parseNumber(s)
	}
	return s
}

// attrOf returns attribute key of n, matched case-insensitively as HTML
// attribute names are.
func attrOf(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return a.Val, true
		}
	}
	return "", false
}

// textOf concatenates the text nodes under n, as goquery's Text does.
func textOf(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for nd := n.FirstChild; nd != nil; {
		if nd.Type == html.TextNode {
			b.WriteString(nd.Data)
		}
		if nd.FirstChild != nil {
			nd = nd.FirstChild
			continue
		}
		for nd != n && nd.NextSibling == nil {
			nd = nd.Parent
		}
		if nd == n {
			break
		}
		nd = nd.NextSibling
	}
	return b.String()
}

func trimStep(v string, _ *url.URL) (string, bool) { return strings.TrimSpace(v), true }

func collapseStep(v string, _ *url.URL) (string, bool) {
	return strings.Join(strings.Fields(v), " "), true
}

func absURLStep(v string, base *url.URL) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", false
	}
	ref, err := url.Parse(v)
	if err != nil {
		return "", false
	}
	return base.ResolveReference(ref).String(), true
}

func regexStep(re *regexp.Regexp) step {
	return func(v string, _ *url.URL) (string, bool) {
		m := re.FindStringSubmatch(v)
		switch {
		case m == nil:
			return "", false
		case len(m) > 1:
			return m[1], true
		default:
			return m[0], true
		}
	}
}

// parseNumber parses a decimal number, ignoring white space and ","
// thousands separators; anything else (NaN and infinities included, which
// JSON cannot carry) is nil.
func parseNumber(s string) any {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ',', ' ', '\t', '\n', '\r', '\u00a0', '_':
			return -1
		}
		return r
	}, s)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}

// empty reports whether v counts as no value for Required.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case []Record:
		return len(v) == 0
	}
	return false
}
