package network

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkAttachDetach measures what bridge networking adds to a
// container's start and stop: Attach (address, veth pair, container side,
// hosts file) plus Detach. The bridge and NAT rule exist already, as they
// do for every container but the first.
func BenchmarkAttachDetach(b *testing.B) {
	isolate(b)
	opts := Options{LeaseDir: b.TempDir()}
	m, err := Open(b.TempDir(), opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	warm := startContainer(b, "warm")
	if _, err := m.Attach(AttachRequest{ContainerID: warm.id, Pid: warm.pid}); err != nil {
		b.Fatal(err)
	}

	b.Run("running container", func(b *testing.B) {
		c := startContainer(b, "c")
		for b.Loop() {
			attachDetach(b, m, AttachRequest{ContainerID: c.id, Pid: c.pid})
		}
	})
	b.Run("running container, one port", func(b *testing.B) {
		c := startContainer(b, "c")
		req := AttachRequest{ContainerID: c.id, Pid: c.pid,
			Ports: mustParsePorts(b, "127.0.0.1::80")}
		for b.Loop() {
			attachDetach(b, m, req)
		}
	})
	// As in `run --rm`: the container's process has exited when its
	// watcher detaches it.
	b.Run("exited container", func(b *testing.B) {
		var attach, detach time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			cmd := startSleep(b)
			b.StartTimer()
			start := time.Now()
			ep, err := m.Attach(AttachRequest{ContainerID: "x", Pid: cmd.Process.Pid})
			if err != nil {
				b.Fatal(err)
			}
			attach += time.Since(start)
			b.StopTimer()
			cmd.Process.Kill()
			cmd.Wait()
			b.StartTimer()
			start = time.Now()
			if err := m.Detach(ep.ContainerID); err != nil {
				b.Fatal(err)
			}
			detach += time.Since(start)
		}
		b.ReportMetric(float64(attach.Microseconds())/float64(b.N)/1000, "attach-ms/op")
		b.ReportMetric(float64(detach.Microseconds())/float64(b.N)/1000, "detach-ms/op")
	})
}

func attachDetach(b *testing.B, m *Manager, req AttachRequest) {
	if _, err := m.Attach(req); err != nil {
		b.Fatal(err)
	}
	if err := m.Detach(req.ContainerID); err != nil {
		b.Fatal(err)
	}
}
