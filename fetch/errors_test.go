package fetch_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/hivecrawl/crawl/fetch"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassOf(t *testing.T) {
	urlErr := func(err error) error { return &url.Error{Op: "Get", URL: "http://x/", Err: err} }
	dial := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	read := func(err error) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", err)}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"unknown", errors.New("boom"), fetch.ClassOther},
		{"fetch error", fmt.Errorf("wrapped: %w", &fetch.Error{Class: fetch.ClassDNS, Err: errors.New("x")}), fetch.ClassDNS},
		{"classed error", fmt.Errorf("check: %w", classedError{"robots"}), "robots"},
		{"classed error with empty class", classedError{""}, fetch.ClassOther},
		{"canceled", urlErr(context.Canceled), fetch.ClassCanceled},
		{"deadline", urlErr(context.DeadlineExceeded), fetch.ClassTimeout},
		{"net timeout", urlErr(read(timeoutErr{})), fetch.ClassTimeout},
		{"dial timeout", urlErr(dial(timeoutErr{})), fetch.ClassTimeout},
		{"dns", urlErr(dial(&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true})), fetch.ClassDNS},
		{"dns timeout", urlErr(dial(&net.DNSError{Err: "timeout", Name: "x", IsTimeout: true})), fetch.ClassDNS},
		{"refused", urlErr(dial(os.NewSyscallError("connect", syscall.ECONNREFUSED))), fetch.ClassConnect},
		{"unreachable", urlErr(dial(os.NewSyscallError("connect", syscall.EHOSTUNREACH))), fetch.ClassConnect},
		{"other dial failure", urlErr(dial(errors.New("odd"))), fetch.ClassConnect},
		{"unknown authority", urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), fetch.ClassTLS},
		{"hostname", urlErr(x509.HostnameError{Host: "x"}), fetch.ClassTLS},
		{"expired", urlErr(x509.CertificateInvalidError{Reason: x509.Expired}), fetch.ClassTLS},
		{"record header", urlErr(tls.RecordHeaderError{Msg: "not tls"}), fetch.ClassTLS},
		{"remote alert", urlErr(&net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}), fetch.ClassTLS},
		{"reset", urlErr(read(syscall.ECONNRESET)), fetch.ClassReset},
		{"broken pipe", urlErr(read(syscall.EPIPE)), fetch.ClassReset},
		{"unexpected EOF", urlErr(io.ErrUnexpectedEOF), fetch.ClassReset},
		{"EOF before response", urlErr(io.EOF), fetch.ClassReset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fetch.ClassOf(tt.err); got != tt.want {
				t.Errorf("ClassOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorFormatAndUnwrap(t *testing.T) {
	inner := errors.New("dial tcp: connection refused")
	err := error(&fetch.Error{URL: "http://example.com/", Class: fetch.ClassConnect, Err: inner})
	if got, want := err.Error(), "fetch http://example.com/: connect: dial tcp: connection refused"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, inner) {
		t.Error("Unwrap does not reach the cause")
	}
}
