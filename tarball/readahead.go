package tarball

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
)

// The read-ahead buffers between the decompressing goroutine and its
// reader: enough that neither waits for the other through a burst of small
// files, and small enough to stay far from the memory bound of [Extract].
const (
	chunkSize  = 256 << 10
	chunkCount = 8
)

// errStopped is what a stage returns once stop was called; Extract never
// reports it, since only Extract calls stop.
var errStopped = errors.New("extraction stopped")

// chunk is one buffer of uncompressed bytes travelling between goroutines.
type chunk struct {
	buf []byte
	n   int
	// err is the source's error after buf[:n], io.EOF at the end.
	err error
}

// readAhead reads and decompresses a layer stream on its own goroutine,
// ahead of its reader, through a bounded ring of chunks. The reader hashes
// and counts each chunk as it takes it, so the diffID is computed in the
// same single pass that feeds the tar reader.
//
// Read, drain and result are for one goroutine only.
type readAhead struct {
	free chan *chunk
	full chan *chunk
	done chan struct{}
	wg   sync.WaitGroup

	// Owned by the reader.
	cur  *chunk
	off  int
	end  error
	hash hash.Hash
	size int64
}

// startReadAhead starts reading src on a new goroutine. It takes src over:
// it is closed when the goroutine stops.
func startReadAhead(src io.ReadCloser) *readAhead {
	ra := &readAhead{
		free: make(chan *chunk, chunkCount),
		full: make(chan *chunk, chunkCount),
		done: make(chan struct{}),
		hash: sha256.New(),
	}
	for range chunkCount {
		ra.free <- &chunk{}
	}

	ra.wg.Add(1)
	go ra.produce(src)
	return ra
}

// produce fills free chunks from src until src ends or fails, or until stop
// is called.
func (ra *readAhead) produce(src io.ReadCloser) {
	defer ra.wg.Done()
	defer src.Close()
	defer close(ra.full)

	for {
		var c *chunk
		select {
		case c = <-ra.free:
		case <-ra.done:
			return
		}

		// Buffers are made on first use: a small layer needs one.
		if c.buf == nil {
			c.buf = make([]byte, chunkSize)
		}
		c.n, c.err = fill(src, c.buf)

		select {
		case ra.full <- c:
		case <-ra.done:
			return
		}
		if c.err != nil {
			return
		}
	}
}

// fill reads from r until buf is full or r fails. Unlike [io.ReadFull] it
// keeps r's own error, so a decompressor's io.ErrUnexpectedEOF (a truncated
// stream) is not confused with a short last chunk.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Read implements [io.Reader] over the uncompressed stream.
func (ra *readAhead) Read(p []byte) (int, error) {
	if !ra.next() {
		return 0, ra.end
	}
	n := copy(p, ra.cur.buf[ra.off:ra.cur.n])
	ra.off += n
	return n, nil
}

// next makes sure ra.cur has unread bytes, hashing each new chunk; it
// returns false at the end of the stream or on an error, which ra.end then
// holds.
func (ra *readAhead) next() bool {
	for ra.cur == nil || ra.off == ra.cur.n {
		if ra.end != nil {
			return false
		}
		if ra.cur != nil {
			if ra.cur.err != nil {
				ra.end = ra.cur.err
				return false
			}
			ra.free <- ra.cur
			ra.cur = nil
		}

		c, ok := <-ra.full
		if !ok {
			ra.end = errStopped
			return false
		}
		ra.cur, ra.off = c, 0
		ra.hash.Write(c.buf[:c.n])
		ra.size += int64(c.n)
	}
	return true
}

// drain reads the stream to its end without copying it anywhere, so the
// digest covers every byte and the decompressor's final checks run. It
// returns the source's error, or nil at a clean end.
func (ra *readAhead) drain() error {
	for ra.next() {
		ra.off = ra.cur.n
	}
	if ra.end == io.EOF {
		return nil
	}
	return ra.end
}

// result returns the diffID and length of the whole stream; they cover the
// whole stream once drain returned nil.
func (ra *readAhead) result() (digest.Digest, int64) {
	return digest.NewDigest(digest.SHA256, ra.hash), ra.size
}

// stop ends the goroutine and waits for it, so that src is no longer read
// and is closed when stop returns; a Read that src has blocked in must
// return first. It is safe to call twice.
func (ra *readAhead) stop() {
	select {
	case <-ra.done:
	default:
		close(ra.done)
	}
	ra.wg.Wait()
}
