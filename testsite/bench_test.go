package testsite

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the handler alone.
type discardWriter struct {
	h http.Header
	n int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

func BenchmarkServePage(b *testing.B) {
	site := New(Options{Pages: 200_000})
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/p/12345", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(DefaultPageBytes)
	for b.Loop() {
		clear(w.h)
		site.ServeHTTP(w, req)
	}
	if w.n == 0 {
		b.Fatal("nothing written")
	}
}

// BenchmarkServeLoopback measures pages per second through a real loopback
// server with concurrent keep-alive clients, as a crawl sees it.
func BenchmarkServeLoopback(b *testing.B) {
	site := New(Options{Pages: 200_000})
	srv := httptest.NewServer(site)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.SetBytes(DefaultPageBytes)
	var next sync.Mutex
	page := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			next.Lock()
			page = (page + 1) % 200_000
			n := page
			next.Unlock()
			resp, err := client.Get(srv.URL + "/p/" + strconv.Itoa(n))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}
