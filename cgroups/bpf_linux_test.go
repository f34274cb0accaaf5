package cgroups

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// These tests check the device program without a kernel: its listing, its
// encoding, and, run by a small interpreter, the answer it gives for each
// kind of access. devices_linux_test.go loads and attaches it for real.

func TestDeviceRuleString(t *testing.T) {
	tests := []struct {
		rule deviceRule
		want string
	}{
		{deviceRule{'c', 1, 3, "rwm"}, "c 1:3 rwm"},
		{deviceRule{'c', anyNumber, anyNumber, "m"}, "c *:* m"},
		{deviceRule{'b', anyNumber, anyNumber, "m"}, "b *:* m"},
		{deviceRule{'c', 136, anyNumber, "rwm"}, "c 136:* rwm"},
	}
	for _, tt := range tests {
		if got := tt.rule.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.rule, got, tt.want)
		}
	}
}

// The listing in bpf_linux.go's comment is what deviceProgram makes.
func TestDeviceProgramListing(t *testing.T) {
	rules := []deviceRule{{'c', 1, 3, "rwm"}, {'c', 136, anyNumber, "rw"}}
	want := []string{
		"r2 = *(u32 *)(r1 + 0)",
		"r2 &= 0xffff",
		"r3 = *(u32 *)(r1 + 0)",
		"r3 >>= 16",
		"r4 = *(u32 *)(r1 + 4)",
		"r5 = *(u32 *)(r1 + 8)",
		"if r2 != 2 goto +4",
		"if r4 != 1 goto +3",
		"if r5 != 3 goto +2",
		"r0 = 1",
		"exit",
		"if r2 != 2 goto +4",
		"if r4 != 136 goto +3",
		"if r3 & 0x1 goto +2",
		"r0 = 1",
		"exit",
		"r0 = 0",
		"exit",
	}
	var got []string
	for _, in := range deviceProgram(rules) {
		got = append(got, in.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deviceProgram(%v) mismatch (-want +got):\n%s", rules, diff)
	}
}

// The bytes of struct bpf_insn on a little-endian machine: code; source
// register in the high half of the second byte, destination in the low
// half; off; imm.
func TestInsnEncode(t *testing.T) {
	if bigEndian {
		t.Skip("skipping: the expected bytes are little-endian")
	}
	tests := []struct {
		in   insn
		want string
	}{
		{loadCtx(regMajor, ctxMajor), "61 14 04 00 00 00 00 00"},
		{and(regType, 0xffff), "57 02 00 00 ff ff 00 00"},
		{shiftRight(regAccess, 16), "77 03 00 00 10 00 00 00"},
		{move(regAnswer, 1), "b7 00 00 00 01 00 00 00"},
		{insn{code: opJumpNE, dst: regMinor, off: 2, imm: 3}, "55 05 02 00 03 00 00 00"},
		{insn{code: opJumpSet, dst: regAccess, off: 2, imm: 1}, "45 03 02 00 01 00 00 00"},
		{exit(), "95 00 00 00 00 00 00 00"},
	}
	for _, tt := range tests {
		got := fmt.Sprintf("% x", tt.in.encode(nil))
		if got != tt.want {
			t.Errorf("encode(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestDeviceProgramAllows(t *testing.T) {
	prog := deviceProgram(allowedDevices)
	const (
		m = unix.BPF_DEVCG_ACC_MKNOD
		r = unix.BPF_DEVCG_ACC_READ
		w = unix.BPF_DEVCG_ACC_WRITE
	)
	tests := []struct {
		name         string
		kind         byte
		major, minor uint32
		access       uint32
		want         uint64
	}{
		{"mknod /dev/kmsg", 'c', 1, 11, m, 1},
		{"read /dev/kmsg", 'c', 1, 11, r, 0},
		{"write /dev/kmsg", 'c', 1, 11, w, 0},
		{"read and write /dev/null", 'c', 1, 3, r | w, 1},
		{"mknod /dev/null", 'c', 1, 3, m, 1},
		{"read /dev/urandom", 'c', 1, 9, r, 1},
		{"mknod a disk", 'b', 8, 0, m, 1},
		{"read a disk", 'b', 8, 0, r, 0},
		{"block device with /dev/null's numbers", 'b', 1, 3, r, 0},
		{"write /dev/pts/7", 'c', 136, 7, r | w, 1},
		{"open /dev/ptmx", 'c', 5, 2, r | w, 1},
		{"open /dev/net/tun", 'c', 10, 200, r | w, 1},
		{"open /dev/fuse", 'c', 10, 229, r | w, 0},
		{"write /dev/tty0", 'c', 4, 0, w, 0},
		{"read /dev/mem", 'c', 1, 1, r, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := [3]uint32{tt.access<<16 | uint32(deviceType(tt.kind)), tt.major, tt.minor}
			got, err := run(prog, ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("program(%c %d:%d, access %#x) = %d, want %d",
					tt.kind, tt.major, tt.minor, tt.access, got, tt.want)
			}
		})
	}
}

// run interprets prog, which may use only the instructions deviceProgram
// makes, for the context ctx (struct bpf_cgroup_dev_ctx), and returns r0.
func run(prog []insn, ctx [3]uint32) (uint64, error) {
	var reg [11]uint64
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.code {
		case opLoadWord:
			if in.src != regCtx || in.off%4 != 0 || in.off < 0 || in.off >= 12 {
				return 0, fmt.Errorf("%d: %v: not a field of the context", pc, in)
			}
			reg[in.dst] = uint64(ctx[in.off/4])
		case opAnd:
			reg[in.dst] &= uint64(int64(in.imm))
		case opShift:
			reg[in.dst] >>= uint64(in.imm)
		case opMove:
			reg[in.dst] = uint64(int64(in.imm))
		case opJumpNE:
			if reg[in.dst] != uint64(int64(in.imm)) {
				pc += int(in.off)
			}
		case opJumpSet:
			if reg[in.dst]&uint64(int64(in.imm)) != 0 {
				pc += int(in.off)
			}
		case opExit:
			return reg[regAnswer], nil
		default:
			return 0, fmt.Errorf("%d: %v: unknown instruction", pc, in)
		}
	}
	return 0, fmt.Errorf("ran past the last of %d instructions", len(prog))
}
