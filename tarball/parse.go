package tarball

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
)

// The parse stage of Extract. A goroutine reads the uncompressed stream
// through archive/tar, hashes it, checks every header and copies file
// content into batches; the goroutine that writes files takes whole
// batches. Parsing, checking, hashing and copying so stay off the writer's
// critical path, and the two goroutines meet once per batch, not per entry.
const (
	arenaSize  = 1 << 20 // file content per batch
	batchItems = 1024    // entries per batch at most
	batchCount = 4       // batches in flight
)

// item is an entry of the layer, or the next piece of a large file.
type item struct {
	e entry
	// data is the part of a regular file's content in this batch's arena.
	data []byte
	// cont marks a piece continuing the file of the item before; more says
	// that another such piece follows.
	cont, more bool
}

// batch is a run of items and the arena holding their content.
type batch struct {
	items []item
	arena []byte
	// end, set on the last batch, is io.EOF after a complete layer, or the
	// error that stopped parsing after the items.
	end error
}

// parser runs the parse stage on its own goroutine and hands its batches
// to one reader, the goroutine that calls next.
type parser struct {
	ra   *readAhead
	tr   *tar.Reader
	free chan *batch
	full chan *batch
	done chan struct{}
	wg   sync.WaitGroup

	// Owned by the parsing goroutine.
	cur  *batch
	last string // name of the last header read, for errors

	// Owned by the reader.
	out    *batch
	outIdx int

	// Written before the last batch is sent, read after it is received.
	contentSize int64
	diffID      digest.Digest
	tarSize     int64
}

// startParser starts decompressing and parsing src. It takes src over.
func startParser(src io.ReadCloser) *parser {
	ra := startReadAhead(src)
	p := &parser{
		ra:   ra,
		tr:   tar.NewReader(ra),
		free: make(chan *batch, batchCount),
		full: make(chan *batch, batchCount),
		done: make(chan struct{}),
	}
	for range batchCount {
		p.free <- &batch{}
	}

	p.wg.Add(1)
	go p.run()
	return p
}

// run parses the whole stream and sends the last batch with its end.
func (p *parser) run() {
	defer p.wg.Done()
	defer close(p.full)
	if !p.take() {
		return
	}

	err := p.parseAll()
	if err == nil {
		err = p.sum()
	}
	if p.cur == nil {
		return // stopped between two batches
	}
	p.cur.end = err
	p.flush()
}

// parseAll adds every entry up to the tar's end-of-archive marker.
func (p *parser) parseAll() error {
	for {
		hdr, err := p.tr.Next()
		if err == io.EOF {
			return nil
		}

		// With GODEBUG=tarinsecurepath=0, archive/tar flags names it deems
		// unsafe but still returns them; checkEntry makes its own decision.
		if err != nil && (hdr == nil || !errors.Is(err, tar.ErrInsecurePath)) {
			if p.last == "" {
				return fmt.Errorf("read first tar header: %w", err)
			}
			return fmt.Errorf("read tar header after entry %q: %w", p.last, err)
		}
		p.last = hdr.Name

		e, err := checkEntry(hdr)
		if err != nil {
			return err
		}
		if err := p.add(e); err != nil {
			return err
		}
	}
}

// sum reads what follows the end-of-archive marker and takes the digest.
// That is usually padding, but may be anything: the diffID is the digest of
// the whole stream, and a compressed stream's checksum is only checked at
// its end.
func (p *parser) sum() error {
	if err := p.ra.drain(); err != nil {
		return fmt.Errorf("read layer stream after the tar's end: %w", err)
	}
	p.diffID, p.tarSize = p.ra.result()
	return io.EOF
}

// add appends e to the current batch, with its content if it is a file.
func (p *parser) add(e entry) error {
	if e.kind == kindFile && e.hdr.Typeflag == tar.TypeReg {
		p.contentSize += e.hdr.Size
		return p.addContent(item{e: e}, e.hdr.Size)
	}
	return p.append(item{e: e})
}

// addContent appends it with the first piece of a file's size bytes, and
// continuation items for the rest, sending batches as they fill.
func (p *parser) addContent(it item, size int64) error {
	for {
		// A piece and its item go in the same batch: the reader hands a
		// batch's arena back for reuse as soon as it moves to the next.
		full := len(p.cur.items) == cap(p.cur.items)
		if full || size > 0 && len(p.cur.arena) == cap(p.cur.arena) {
			if !p.flush() || !p.take() {
				return errStopped
			}
		}

		arena := p.cur.arena
		start := len(arena)
		n := int(min(size, int64(cap(arena)-start)))
		if _, err := io.ReadFull(p.tr, arena[start:start+n]); err != nil {
			return fmt.Errorf("tar entry %q: read content: %w", p.last, err)
		}
		p.cur.arena = arena[:start+n]
		size -= int64(n)

		it.data, it.more = arena[start:start+n], size > 0
		p.cur.items = append(p.cur.items, it)
		if !it.more {
			return nil
		}
		it = item{cont: true}
	}
}

// append adds it to the current batch, sending the batch first if full.
func (p *parser) append(it item) error {
	if len(p.cur.items) == cap(p.cur.items) {
		if !p.flush() || !p.take() {
			return errStopped
		}
	}
	p.cur.items = append(p.cur.items, it)
	return nil
}

// flush sends the current batch to the reader.
func (p *parser) flush() bool {
	select {
	case p.full <- p.cur:
		p.cur = nil
		return true
	case <-p.done:
		return false
	}
}

// take makes an empty batch the current one.
func (p *parser) take() bool {
	select {
	case b := <-p.free:
		// Buffers are made on first use: a small layer needs one batch.
		if b.items == nil {
			b.items, b.arena = make([]item, 0, batchItems), make([]byte, 0, arenaSize)
		}
		b.items, b.arena, b.end = b.items[:0], b.arena[:0], nil
		p.cur = b
		return true
	case <-p.done:
		return false
	}
}

// next returns the next item. At the end it returns the parser's last
// error, io.EOF after a complete layer. The item and its data stay valid
// until the following call.
func (p *parser) next() (*item, error) {
	for p.out == nil || p.outIdx == len(p.out.items) {
		if p.out != nil {
			if p.out.end != nil {
				return nil, p.out.end
			}
			p.free <- p.out
			p.out = nil
		}

		b, ok := <-p.full
		if !ok {
			return nil, errStopped
		}
		p.out, p.outIdx = b, 0
	}

	it := &p.out.items[p.outIdx]
	p.outIdx++
	return it, nil
}

// stop ends both goroutines and waits for them; the source is closed when
// it returns. It is safe to call twice.
func (p *parser) stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	p.ra.stop()
	p.wg.Wait()
}

// content yields a regular file's bytes as the parser batched them.
type content struct {
	p     *parser
	first []byte
	more  bool
}

// next returns the next piece of the file, valid until the following
// call, or io.EOF after the last one.
func (c *content) next() ([]byte, error) {
	if c.first != nil {
		piece := c.first
		c.first = nil
		return piece, nil
	}
	if !c.more {
		return nil, io.EOF
	}

	it, err := c.p.next()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	if !it.cont {
		return nil, errors.New("tarball: parser lost a piece of file content")
	}
	c.more = it.more
	return it.data, nil
}

// discard skips what is left of the file.
func (c *content) discard() error {
	for {
		_, err := c.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
