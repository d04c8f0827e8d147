package fetch

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
)

// FormContentType is the Content-Type of an HTML form submitted by POST
// without files.
const FormContentType = "application/x-www-form-urlencoded"

// postBody is what Post sends on the first hop of a fetch.
type postBody struct {
	contentType string
	body        []byte
}

// request builds the request of one hop: a GET when p is nil, a POST of
// p's body otherwise.
func (p *postBody) request(ctx context.Context, u *url.URL) (*http.Request, error) {
	if p == nil {
		return http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(p.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", p.contentType)
	return req, nil
}

// after returns what the hop following a response of status sends: a
// 307 or 308 redirect repeats the POST, as browsers do; any other
// redirect (301, 302, 303) turns it into a GET, as browsers do too.
func (p *postBody) after(status int) *postBody {
	if p == nil || status == http.StatusTemporaryRedirect || status == http.StatusPermanentRedirect {
		return p
	}
	return nil
}

// Post sends body to rawURL as a POST with the given Content-Type (a form
// is FormContentType) and reads the response, as Fetch does for a GET,
// with everything of the Client that Fetch uses: its transport and
// timeouts, its cookie jar, the scoping of credentials and headers to
// their origins, the body cap, and the hop-by-hop redirects, each checked
// by check when it is not nil. A 303, 302 or 301 redirect is followed by
// a GET, a 307 or 308 one by the same POST. The Response and error are
// Fetch's; the caller owns Body for good (Release does nothing).
func (c *Client) Post(ctx context.Context, rawURL, contentType string, body []byte, check func(ctx context.Context, u *url.URL) error) (*Response, error) {
	return c.fetch(ctx, rawURL, policy{
		check:        check,
		maxRedirects: c.opts.MaxRedirects,
		maxBodyBytes: c.opts.MaxBodyBytes,
		post:         &postBody{contentType: contentType, body: body},
	})
}
