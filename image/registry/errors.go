package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// UnreachableError means the client could not talk to a registry at all:
// its name does not resolve, nothing listens, or the TLS handshake fails.
// The command line prints it as one line, without the layers of wrapping a
// request error collects.
type UnreachableError struct {
	// Host is the host the client tried, e.g. registry-1.docker.io.
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach registry %s: %s", e.Host, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Error is an error response from a registry: the HTTP status and the
// first entry of the "errors" list that the distribution spec defines
// (code, message), when the body has one.
type Error struct {
	// Method and URL name the request that failed.
	Method string
	URL    string
	// StatusCode is the HTTP status, e.g. 404.
	StatusCode int
	// Code is the spec's error code, e.g. MANIFEST_UNKNOWN, or "".
	Code string
	// Message is the registry's explanation, or "".
	Message string
}

func (e *Error) Error() string {
	// Docker prints codes as words: MANIFEST_UNKNOWN is "manifest unknown".
	if e.Code != "" {
		code := strings.ToLower(strings.ReplaceAll(e.Code, "_", " "))
		if e.Message == "" || e.Message == code {
			return code
		}
		return code + ": " + e.Message
	}
	return fmt.Sprintf("%s %s: unexpected status %d %s", e.Method, e.URL, e.StatusCode,
		http.StatusText(e.StatusCode))
}

// ErrUnauthorized means the registry refused the credentials, or wants
// some and has none.
var ErrUnauthorized = errors.New("unauthorized")

// Is makes errors.Is(err, ErrUnauthorized) true for a 401 response.
func (e *Error) Is(target error) bool {
	return target == ErrUnauthorized && e.StatusCode == http.StatusUnauthorized
}

// responseError reads an error response and closes its body.
func responseError(resp *http.Response) error {
	defer resp.Body.Close()
	e := &Error{
		Method:     resp.Request.Method,
		URL:        resp.Request.URL.Redacted(),
		StatusCode: resp.StatusCode,
	}
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &body) == nil && len(body.Errors) > 0 {
		e.Code, e.Message = body.Errors[0].Code, body.Errors[0].Message
		return e
	}

	// A HEAD request gets no body; say what the status means, in the
	// registry's words.
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		e.Code, e.Message = "UNAUTHORIZED", "authentication required"
	case http.StatusForbidden:
		e.Code, e.Message = "DENIED", "requested access to the resource is denied"
	}
	return e
}
