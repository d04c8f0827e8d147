package serve

import (
	"encoding/json"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// redactedValue stands for a secret the API does not show.
const redactedValue = "[redacted]"

// secretWords mark a config key whose value is a credential: auth,
// cookie, password, secret and token keys, in any block (a login's
// password as well as --auth).
var secretWords = []string{"auth", "cookie", "password", "passwd", "secret", "token", "credential"}

// redactConfig returns a job's config as the API shows it: a JSON object
// with the values of credential keys replaced, header values hidden (a
// header may carry a credential) and the passwords of URLs (seeds,
// proxies, databases) masked. The job keeps its config as submitted; only
// the view is redacted. A config that does not decode is not shown.
func redactConfig(raw json.RawMessage) json.RawMessage {
	text := strings.TrimSpace(string(raw))
	if text == "" || text == "null" {
		return nil
	}
	if text[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil
		}
	}
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return json.RawMessage(`"` + redactedValue + ` (not valid YAML)"`)
	}
	out, err := json.Marshal(redactTree(v, ""))
	if err != nil {
		return nil
	}
	return out
}

// redactTree redacts v, the value of key.
func redactTree(v any, key string) any {
	k := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			if v == nil || v == "" || v == false {
				return v
			}
			return redactedValue
		}
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for mk, mv := range x {
			out[mk] = redactTree(mv, mk)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			if k == "header" || k == "headers" {
				if s, ok := e.(string); ok {
					name, _, _ := strings.Cut(s, ":")
					out[i] = name + ": " + redactedValue
					continue
				}
			}
			out[i] = redactTree(e, "")
		}
		return out
	case string:
		return redactURL(x)
	default:
		return v
	}
}

// redactURL masks the password of a URL; other strings are returned as
// they are.
func redactURL(s string) string {
	if !strings.Contains(s, "@") || !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		return u.Redacted()
	}
	u.User = url.User(redactedValue)
	return u.String()
}
