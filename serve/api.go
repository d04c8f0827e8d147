package serve

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// MaxBodyBytes caps a request body: a job's spec is a few kilobytes.
const MaxBodyBytes = 1 << 20

// maxNameLen caps a job's name.
const maxNameLen = 200

// tailPoll is how often a followed stream looks for new lines when
// nothing else wakes it.
const tailPoll = 200 * time.Millisecond

//go:embed web
var webFiles embed.FS

// Handler returns the server's HTTP handler: the API under /api/v1, the
// web page at /, /metrics and /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.routes() {
		if r.open {
			mux.Handle(r.pattern, r.h)
		} else {
			mux.Handle(r.pattern, s.auth(r.h))
		}
	}
	mux.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API path: "+r.URL.Path)
	})
	// The page carries no data: it is served without the token, which it
	// asks for.
	web, _ := fs.Sub(webFiles, "web") // the embedded folder exists
	mux.Handle("GET /", http.FileServerFS(web))
	return securityHeaders(mux)
}

// route is one of the server's endpoints; open ones need no token.
type route struct {
	pattern string
	h       http.Handler
	open    bool
}

// routes lists the endpoints that the OpenAPI file documents.
func (s *Server) routes() []route {
	web, _ := fs.Sub(webFiles, "web")
	return []route{
		{pattern: "GET /api/v1/jobs", h: http.HandlerFunc(s.listJobs)},
		{pattern: "POST /api/v1/jobs", h: http.HandlerFunc(s.createJob)},
		{pattern: "GET /api/v1/jobs/{id}", h: http.HandlerFunc(s.getJob)},
		{pattern: "DELETE /api/v1/jobs/{id}", h: http.HandlerFunc(s.deleteJob)},
		{pattern: "POST /api/v1/jobs/{id}/pause", h: s.action(s.Pause)},
		{pattern: "POST /api/v1/jobs/{id}/resume", h: s.action(s.Resume)},
		{pattern: "POST /api/v1/jobs/{id}/cancel", h: s.action(s.Cancel)},
		{pattern: "GET /api/v1/jobs/{id}/pages", h: s.lines(PagesFile)},
		{pattern: "GET /api/v1/jobs/{id}/items", h: s.lines(ItemsFile)},
		{pattern: "GET /api/v1/jobs/{id}/log", h: s.lines(LogFile)},
		{pattern: "GET /api/v1/jobs/{id}/events", h: http.HandlerFunc(s.events)},
		{pattern: "GET /metrics", h: s.metricsHandler()},
		{pattern: "GET /api/v1/openapi.json", h: http.FileServerFS(web), open: true},
		{pattern: "GET /healthz", h: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") }), open: true},
	}
}

// securityHeaders keeps the page from being framed or sniffed.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		h.ServeHTTP(w, r)
	})
}

// auth requires the bearer token, when the server has one.
func (s *Server) auth(h http.Handler) http.Handler {
	if s.opts.Token == "" {
		return h
	}
	want := []byte("Bearer " + s.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="crawl"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong token: send Authorization: Bearer <token>")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// apiError is the body of every error response.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// An API, not a page: "<token>" reads as such.
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away
}

// fail writes the response for err from a job operation.
func fail(w http.ResponseWriter, err error) {
	var invalid *InvalidError
	switch {
	case errors.As(err, &invalid):
		writeError(w, http.StatusBadRequest, invalid.Error())
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrStopped):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	st := Status(r.URL.Query().Get("status"))
	if st != "" && !slices.Contains(statuses, st) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("status %q: want one of %v", st, statuses))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": s.List(st)})
}

func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	spec, err := decodeSpec(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	j, err := s.Create(spec)
	if err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/jobs/"+j.ID)
	writeJSON(w, http.StatusCreated, j)
}

// decodeSpec reads a job's spec: one JSON object of Spec's fields.
func decodeSpec(r io.Reader) (Spec, error) {
	var spec Spec
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return spec, fmt.Errorf("body: %w (want {\"seeds\": [...], \"config\": {...}, \"name\": \"...\"})", err)
	}
	if dec.More() {
		return spec, errors.New("body: one JSON object, please")
	}
	if len(spec.Name) > maxNameLen || strings.ContainsFunc(spec.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return spec, fmt.Errorf("name: at most %d characters, none of them control characters", maxNameLen)
	}
	if c := bytes.TrimSpace(spec.Config); len(c) > 0 && c[0] != '{' && c[0] != '"' && !bytes.Equal(c, []byte("null")) {
		return spec, errors.New("config: want an object of config keys, or a string of YAML")
	}
	return spec, nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	j, _, err := s.Get(r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) {
	if err := s.Delete(r.Context(), r.PathValue("id")); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// action serves a pause, resume or cancel.
func (s *Server) action(op func(id string) (Job, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		j, err := op(r.PathValue("id"))
		if err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, j)
	}
}

// lines streams one of a job's line files: from line ?after=N (0-based
// count of lines to skip), and with ?follow=1 on while the job is pending
// or running. Only whole lines are sent.
func (s *Server) lines(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		q := r.URL.Query()
		after := int64(0)
		if v := q.Get("after"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("after %q: want a count of lines, 0 or more", v))
				return
			}
			after = n
		}
		follow, err := boolParam(q.Get("follow"))
		if err != nil {
			writeError(w, http.StatusBadRequest, "follow: "+err.Error())
			return
		}
		_, _, err = s.Get(id)
		if err != nil {
			fail(w, err)
			return
		}
		ctype := "application/x-ndjson"
		if name == LogFile {
			ctype = "text/plain; charset=utf-8"
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if lr, ok := s.crawls.(LineReader); ok {
			s.tailLines(w, r, lr, id, name, after, follow)
			return
		}
		s.tail(w, r, id, name, after, follow)
	}
}

// readBatch is how many lines tailLines asks a LineReader for at once;
// followWait, how long a followed stream waits in one read for a line.
const (
	readBatch  = 1000
	followWait = time.Second
)

// tailLines is tail for the jobs of a LineReader: it copies the lines of
// the job's file name past the first after to w, and with follow waits
// for more while the job is pending or running.
func (s *Server) tailLines(w http.ResponseWriter, r *http.Request, lr LineReader, id, name string, after int64, follow bool) {
	flusher, _ := w.(http.Flusher)
	ctx := r.Context()
	wrote := false
	var buf []byte
	for {
		j, _, err := s.Get(id)
		if err != nil {
			return // deleted
		}
		active := j.Status == Pending || j.Status == Running
		wait := time.Duration(0)
		if follow && active {
			wait = followWait
		}
		lines, next, err := lr.ReadLines(ctx, id, name, after, readBatch, wait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !wrote {
				writeError(w, http.StatusServiceUnavailable, "serve: the job's lines: "+err.Error())
				return
			}
			s.log.Warn("reading a job's lines", "job", id, "file", name, "err", err)
			return
		}
		if len(lines) > 0 {
			buf = buf[:0]
			for _, l := range lines {
				buf = append(append(buf, l...), '\n')
			}
			if _, err := w.Write(buf); err != nil {
				return
			}
			wrote = true
			if flusher != nil {
				flusher.Flush()
			}
		}
		after = next
		if len(lines) == readBatch {
			continue // more are there
		}
		if len(lines) == 0 && (!follow || !active) {
			return
		}
		select {
		case <-s.done:
			return
		default:
		}
	}
}

func boolParam(v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	return strconv.ParseBool(v)
}

// tail copies the whole lines of the job's file name past the first
// after to w, and with follow waits for more while the job is pending or
// running.
func (s *Server) tail(w http.ResponseWriter, r *http.Request, id, name string, after int64, follow bool) {
	flusher, _ := w.(http.Flusher)
	var (
		f       *os.File
		br      *bufio.Reader
		partial []byte
		line    int64
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	t := time.NewTicker(tailPoll)
	defer t.Stop()
	for {
		j, changed, err := s.Get(id)
		if err != nil {
			return // deleted
		}
		active := j.Status == Pending || j.Status == Running
		if f == nil {
			f, err = os.Open(filepath.Join(s.opts.Dir, "jobs", id, name))
			if err == nil {
				br = bufio.NewReaderSize(f, 64<<10)
			}
		}
		wrote := false
		for br != nil {
			b, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				partial = append(partial, b...)
				continue
			}
			if err != nil {
				partial = append(partial, b...) // a line being written
				break
			}
			if line >= after {
				if len(partial) > 0 {
					if _, werr := w.Write(partial); werr != nil {
						return
					}
				}
				if _, werr := w.Write(b); werr != nil {
					return
				}
				wrote = true
			}
			partial = partial[:0]
			line++
		}
		if wrote && flusher != nil {
			flusher.Flush()
		}
		if !follow || !active {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-changed:
		case <-t.C:
		}
	}
}

// events streams the job's progress as Server-Sent Events: a "progress"
// event (the job) every EventInterval and at each change of status, and a
// last "summary" event (the job) once it has ended.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, _, err := s.Get(id); err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	flusher, _ := w.(http.Flusher)
	t := time.NewTicker(s.opts.EventInterval)
	defer t.Stop()
	for {
		j, changed, err := s.Get(id)
		if err != nil {
			return
		}
		event := "progress"
		if j.Status.ended() {
			event = "summary"
		}
		data, _ := json.Marshal(j) // a Job always marshals
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		if event == "summary" {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-changed:
		case <-t.C:
		}
	}
}

// metricsHandler serves the server's process metrics and every job's
// metrics, each with its job label; an ended job's drop out KeepMetrics
// after its end.
func (s *Server) metricsHandler() http.Handler {
	proc := prometheus.NewRegistry()
	proc.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		gs := prometheus.Gatherers{proc}
		now := time.Now()
		s.mu.Lock()
		for _, j := range s.jobs {
			if j.reg == nil {
				continue
			}
			if j.rec.Status.ended() && j.rec.Finished != nil && now.Sub(*j.rec.Finished) > s.opts.KeepMetrics {
				j.reg = nil // for good: its crawl is over
				continue
			}
			gs = append(gs, j.reg)
		}
		s.mu.Unlock()
		return gs.Gather()
	})
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}
