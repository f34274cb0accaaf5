package tarball

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
)

// The read-ahead buffers between a reading goroutine and its reader:
// enough that neither waits for the other through a burst of small files,
// and small enough to stay far from the memory bound of [Extract].
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

// readAhead reads a stream on its own goroutine, ahead of its reader,
// through a bounded ring of chunks. Extract uses one on the decompressed
// layer: the reading goroutine decompresses, and the reader hashes and
// counts each chunk as it takes it, so the diffID is computed in the same
// single pass that feeds the tar reader. [ReadAhead] uses one on the
// compressed blob, with a tee and no hash.
//
// Read, drain and result are for one goroutine only.
type readAhead struct {
	free chan *chunk
	full chan *chunk
	done chan struct{}
	wg   sync.WaitGroup
	// tee, when set, gets each chunk on the reading goroutine before the
	// reader does (see [ReadAhead]).
	tee io.Writer

	// Owned by the reader.
	cur  *chunk
	off  int
	end  error
	hash hash.Hash // nil: chunks are not hashed
	size int64
}

// startReadAhead starts reading src on a new goroutine. It takes src over:
// it is closed when the goroutine stops.
func startReadAhead(src io.ReadCloser) *readAhead {
	ra := newReadAhead(nil)
	ra.hash = sha256.New()
	ra.start(src)
	return ra
}

// newReadAhead makes a readAhead that writes each chunk to tee, if set,
// and hashes nothing; start starts it.
func newReadAhead(tee io.Writer) *readAhead {
	ra := &readAhead{
		tee:  tee,
		free: make(chan *chunk, chunkCount),
		full: make(chan *chunk, chunkCount),
		done: make(chan struct{}),
	}
	for range chunkCount {
		ra.free <- &chunk{}
	}
	return ra
}

// start starts reading src on a new goroutine, which closes src when it
// stops.
func (ra *readAhead) start(src io.ReadCloser) {
	ra.wg.Add(1)
	go ra.produce(src)
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
		if ra.tee != nil && c.n > 0 {
			if _, err := ra.tee.Write(c.buf[:c.n]); err != nil {
				c.err = err
			}
		}

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
		if ra.hash != nil {
			ra.hash.Write(c.buf[:c.n])
		}
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

// ReadAhead reads r on a goroutine of its own, ahead of the returned
// reader, through a few buffers of 256 KiB, and writes each buffer to tee
// there before handing it on. A layer blob is read so: the blob file is
// written and its digest computed by that goroutine, while the reader's
// goroutine decompresses the bytes before them, and neither waits for the
// other's work. tee's error, if any, is returned by Read after the bytes
// before it. Close stops the goroutine: once it returns, neither r nor tee
// is used any more. It waits for a Read of r in progress to return, and
// does not close r, which stays the caller's.
func ReadAhead(r io.Reader, tee io.Writer) io.ReadCloser {
	ra := newReadAhead(tee)
	ra.start(io.NopCloser(r))
	return &teeAhead{ra: ra}
}

// teeAhead is the reader [ReadAhead] returns: a readAhead without the
// hashing of its chunks.
type teeAhead struct{ ra *readAhead }

func (t *teeAhead) Read(p []byte) (int, error) { return t.ra.Read(p) }

func (t *teeAhead) Close() error {
	t.ra.stop()
	return nil
}
