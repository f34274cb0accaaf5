package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/skiff-dev/skiff/image"
)

// SearchResult is one repository that a search found.
type SearchResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Stars       int    `json:"star_count"`
	Official    bool   `json:"is_official"`
	Automated   bool   `json:"is_automated"`
}

// Search looks for repositories whose name contains term, at most limit
// of them. For docker.io it asks Docker Hub's search API (GET
// /v1/search?q=TERM&n=LIMIT on index.docker.io), which knows descriptions
// and stars. Other registries have no search API in the distribution
// spec; their catalog (GET /v2/_catalog, page by page) is filtered here.
func (c *Client) Search(ctx context.Context, domain, term string, limit int) ([]SearchResult,
	error) {

	if domain == image.DefaultDomain {
		return c.searchHub(ctx, term, limit)
	}
	r, err := c.registry(ctx, domain)
	if err != nil {
		return nil, err
	}
	var results []SearchResult
	err = r.pages(ctx, []string{catalogScope()}, "/v2/_catalog", func(body io.Reader) error {
		var page struct {
			Repositories []string `json:"repositories"`
		}
		if err := json.NewDecoder(body).Decode(&page); err != nil {
			return err
		}
		for _, name := range page.Repositories {
			if strings.Contains(name, term) && (limit <= 0 || len(results) < limit) {
				results = append(results, SearchResult{Name: domain + "/" + name})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", domain, err)
	}
	return results, nil
}

// searchHub asks Docker Hub's search API.
func (c *Client) searchHub(ctx context.Context, term string, limit int) ([]SearchResult, error) {
	u, err := url.Parse(c.opts.IndexURL + "/v1/search")
	if err != nil {
		return nil, fmt.Errorf("search Docker Hub: %w", err)
	}
	query := url.Values{"q": {term}}
	if limit > 0 {
		query.Set("n", strconv.Itoa(limit))
	}
	u.RawQuery = query.Encode()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	hc := c.httpClient(nil)
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnreachableError{Host: u.Host, Err: transportCause(err)}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("search Docker Hub: %w", responseError(resp))
	}
	defer resp.Body.Close()

	var answer struct {
		Results []SearchResult `json:"results"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&answer); err != nil {
		return nil, fmt.Errorf("read search results from %s: %w", u.Host, err)
	}
	if limit > 0 && len(answer.Results) > limit {
		answer.Results = answer.Results[:limit]
	}
	return answer.Results, nil
}

// pages GETs a paginated list (catalog, tags) and hands each page's body to
// read. The spec's pagination: ?n=<count>, and a Link header
// `<url>; rel="next"` while there is more.
func (r *registry) pages(ctx context.Context, scopes []string, path string,
	read func(io.Reader) error) error {

	next := r.url(path) + "?n=1000"
	for page := 0; next != ""; page++ {
		if page == 10000 {
			return fmt.Errorf("list %s: more than 10000 pages", path)
		}
		u := next
		resp, err := r.doRetry(ctx, scopes, func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		})
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return responseError(resp)
		}
		err = read(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		next, err = nextLink(resp)
		if err != nil {
			return err
		}
	}
	return nil
}

// nextLink returns the absolute URL of the Link header's rel="next", or "".
func nextLink(resp *http.Response) (string, error) {
	for _, link := range resp.Header.Values("Link") {
		target, params, ok := strings.Cut(link, ";")
		if !ok || !strings.Contains(params, `rel="next"`) {
			continue
		}
		target = strings.Trim(strings.TrimSpace(target), "<>")
		u, err := resp.Request.URL.Parse(target)
		if err != nil {
			return "", fmt.Errorf("read Link header %q: %w", link, err)
		}
		return u.String(), nil
	}
	return "", nil
}
