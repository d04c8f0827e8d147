package serve

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedactConfig(t *testing.T) {
	tests := []struct {
		name, in string
		hidden   []string // must not be in the view
		kept     []string // must be
	}{
		{"auth", `{"auth": "bob:hunter2", "max-pages": 10}`, []string{"hunter2"}, []string{`"max-pages":10`, `"auth":"[redacted]"`}},
		{"yaml string", `"auth: bob:hunter2\ncookie: sid=abc123\n"`, []string{"hunter2", "abc123"}, []string{`"cookie":"[redacted]"`}},
		{"headers", `{"header": ["Authorization: Bearer xyz789", "Accept: text/html"]}`, []string{"xyz789"}, []string{"Authorization: [redacted]", "Accept: [redacted]"}},
		{"login block", `{"login": {"url": "https://a.test/login", "fields": {"user": "bob", "password": "pw-42"}}}`, []string{"pw-42"}, []string{"https://a.test/login", `"user":"bob"`}},
		{"proxy URL", `{"proxy": ["http://u:proxypass@127.0.0.1:3128"]}`, []string{"proxypass"}, []string{"127.0.0.1:3128"}},
		{"token user", `{"sink": "postgres://tok3n@db.test/crawl"}`, []string{"tok3n"}, []string{"db.test"}},
		{"empty", ``, nil, nil},
		{"not yaml", `"a: [b"`, []string{"a: [b"}, []string{"not valid YAML"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(redactConfig(json.RawMessage(tt.in)))
			for _, h := range tt.hidden {
				if strings.Contains(got, h) {
					t.Errorf("%s shows %q", got, h)
				}
			}
			for _, k := range tt.kept {
				if !strings.Contains(got, k) {
					t.Errorf("%s lacks %q", got, k)
				}
			}
			if got != "" && !json.Valid([]byte(got)) {
				t.Errorf("not JSON: %s", got)
			}
		})
	}
}

// FuzzSpec feeds request bodies to the spec decoder and the redaction of
// the config views: errors, never a panic, and views that are JSON.
func FuzzSpec(f *testing.F) {
	for _, s := range []string{
		`{"seeds": ["http://a.test/"], "config": {"auth": "a:b", "header": ["X: y"]}}`,
		`{"config": "rules:\n  - name: p\n    fields: [{name: t, selector: title}]\n"}`,
		`{"name": "x", "config": null}`, `{"config": 3}`, `[]`, `{"seeds": 1}`, `{}{}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		spec, err := decodeSpec(strings.NewReader(body))
		if err != nil {
			return
		}
		if v := redactConfig(spec.Config); v != nil && !json.Valid(v) {
			t.Fatalf("view of %q is not JSON: %s", spec.Config, v)
		}
	})
}
