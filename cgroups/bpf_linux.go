package cgroups

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cgroup v2 has no device files. A group's device rules are a program in
// the kernel's eBPF instruction set, attached to the group's directory.
// The kernel runs it at each mknod(2) and open(2) of a device node by a
// process of the group, or of any group below: skiff attaches it once to
// the parent of the container groups, "skiff". It runs with register r1
// pointing to
//
//	struct bpf_cgroup_dev_ctx {
//		__u32 access_type; // BPF_DEVCG_ACC_* << 16 | BPF_DEVCG_DEV_*
//		__u32 major;
//		__u32 minor;
//	};
//
// and takes the answer from register r0: 1 allows, 0 refuses with EPERM.
// When the program is loaded, the kernel's verifier checks that it only
// reads the context, within bounds, and always ends with r0 set.
//
// skiff writes the program itself, a block of a few instructions per
// rule. For the rules "c 1:3 rwm" and "c 136:* rw" it is:
//
//	 0: r2 = *(u32 *)(r1 + 0)   access_type
//	 1: r2 &= 0xffff            the device type: 1 block, 2 character
//	 2: r3 = *(u32 *)(r1 + 0)   access_type again
//	 3: r3 >>= 16               the access: 1 mknod, 2 read, 4 write
//	 4: r4 = *(u32 *)(r1 + 4)   major
//	 5: r5 = *(u32 *)(r1 + 8)   minor
//	 6: if r2 != 2 goto +4      c 1:3 rwm: not a character device?
//	 7: if r4 != 1 goto +3      not major 1? on to the next rule
//	 8: if r5 != 3 goto +2      not minor 3? on to the next rule
//	 9: r0 = 1                  a match: allowed
//	10: exit
//	11: if r2 != 2 goto +4      c 136:* rw: no minor to compare
//	12: if r4 != 136 goto +3
//	13: if r3 & 0x1 goto +2     mknod asked, which the rule does not allow
//	14: r0 = 1
//	15: exit
//	16: r0 = 0                  no rule allowed it: EPERM
//	17: exit
//
// A jump's offset counts the instructions it skips; every jump of a block
// lands on the first instruction of the next one.

// The registers the program uses. r1 holds the context when the program
// starts, r0 its answer when it exits; r2 to r5 are free for any use.
const (
	regAnswer = unix.BPF_REG_0
	regCtx    = unix.BPF_REG_1
	regType   = unix.BPF_REG_2 // the device type, BPF_DEVCG_DEV_*
	regAccess = unix.BPF_REG_3 // the access asked for, BPF_DEVCG_ACC_* bits
	regMajor  = unix.BPF_REG_4
	regMinor  = unix.BPF_REG_5
)

// The offsets of the fields of struct bpf_cgroup_dev_ctx, in bytes.
const (
	ctxAccessType = 0
	ctxMajor      = 4
	ctxMinor      = 8
)

// The operation codes the program uses: an instruction class, an
// operation, and where the second operand comes from (BPF_K: the
// instruction's imm field). See Documentation/bpf/standardization/
// instruction-set.rst in the kernel's sources.
const (
	opLoadWord = unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W   // dst = *(u32 *)(src + off)
	opAnd      = unix.BPF_ALU64 | unix.BPF_AND | unix.BPF_K // dst &= imm
	opShift    = unix.BPF_ALU64 | unix.BPF_RSH | unix.BPF_K // dst >>= imm
	opMove     = unix.BPF_ALU64 | unix.BPF_MOV | unix.BPF_K // dst = imm
	opJumpNE   = unix.BPF_JMP | unix.BPF_JNE | unix.BPF_K   // if dst != imm goto +off
	opJumpSet  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K  // if dst & imm goto +off
	opExit     = unix.BPF_JMP | unix.BPF_EXIT               // return r0
)

// insn is one eBPF instruction, struct bpf_insn of
// include/uapi/linux/bpf.h: an operation code, a destination and a source
// register, a signed 16-bit offset (into memory, or a jump's distance) and
// a signed 32-bit immediate value. [insn.encode] lays it out as the kernel
// reads it.
type insn struct {
	code     uint8
	dst, src uint8
	off      int16
	imm      int32
}

// loadCtx is "dst = *(u32 *)(r1 + off)": a field of the context.
func loadCtx(dst uint8, off int16) insn {
	return insn{code: opLoadWord, dst: dst, src: regCtx, off: off}
}

// and is "dst &= imm".
func and(dst uint8, imm int32) insn { return insn{code: opAnd, dst: dst, imm: imm} }

// shiftRight is "dst >>= imm", a logical shift.
func shiftRight(dst uint8, imm int32) insn { return insn{code: opShift, dst: dst, imm: imm} }

// move is "dst = imm".
func move(dst uint8, imm int32) insn { return insn{code: opMove, dst: dst, imm: imm} }

// jumpNE is "if dst != imm goto +off"; the caller sets off.
func jumpNE(dst uint8, imm int32) insn { return insn{code: opJumpNE, dst: dst, imm: imm} }

// jumpSet is "if dst & imm goto +off": a jump if any bit of imm is set in
// dst; the caller sets off.
func jumpSet(dst uint8, imm int32) insn { return insn{code: opJumpSet, dst: dst, imm: imm} }

// exit ends the program; r0 is its answer.
func exit() insn { return insn{code: opExit} }

// deviceProgram compiles rules into a program of type
// BPF_PROG_TYPE_CGROUP_DEVICE that allows exactly what one of the rules
// allows, as the v1 devices controller would with "a" denied and rules
// allowed.
func deviceProgram(rules []deviceRule) []insn {
	prog := []insn{
		// Split access_type: device type in the low 16 bits, access in
		// the high 16. A 32-bit load fills the upper half of the 64-bit
		// register with zeros.
		loadCtx(regType, ctxAccessType),
		and(regType, 0xffff),
		loadCtx(regAccess, ctxAccessType),
		shiftRight(regAccess, 16),
		loadCtx(regMajor, ctxMajor),
		loadCtx(regMinor, ctxMinor),
	}
	for _, r := range rules {
		prog = append(prog, ruleBlock(r)...)
	}
	// No rule allowed the access: the answer is 0, and the kernel
	// refuses it with EPERM.
	return append(prog, move(regAnswer, 0), exit())
}

// ruleBlock compiles one rule: a jump to the next block for each test the
// access fails, then "allowed".
func ruleBlock(r deviceRule) []insn {
	block := []insn{jumpNE(regType, deviceType(r.kind))}
	if r.major != anyNumber {
		block = append(block, jumpNE(regMajor, int32(r.major)))
	}
	if r.minor != anyNumber {
		block = append(block, jumpNE(regMinor, int32(r.minor)))
	}
	// An access is allowed if it asks for nothing outside the rule's
	// letters: mknod against "rw" jumps away, read against "rwm" cannot.
	if denied := accessBits("rwm") &^ accessBits(r.access); denied != 0 {
		block = append(block, jumpSet(regAccess, denied))
	}
	block = append(block, move(regAnswer, 1), exit())

	// Every instruction but the last two is a jump out of the block: it
	// skips what follows it in the block.
	for i := range len(block) - 2 {
		block[i].off = int16(len(block) - 1 - i)
	}
	return block
}

// deviceType is the BPF_DEVCG_DEV_* value of a rule's kind, 'b' or 'c'.
func deviceType(kind byte) int32 {
	if kind == 'b' {
		return unix.BPF_DEVCG_DEV_BLOCK
	}
	return unix.BPF_DEVCG_DEV_CHAR
}

// accessBits is the BPF_DEVCG_ACC_* bits of a rule's access letters.
func accessBits(access string) int32 {
	var bits int32
	for _, a := range access {
		switch a {
		case 'm':
			bits |= unix.BPF_DEVCG_ACC_MKNOD
		case 'r':
			bits |= unix.BPF_DEVCG_ACC_READ
		case 'w':
			bits |= unix.BPF_DEVCG_ACC_WRITE
		}
	}
	return bits
}

// String shows the instruction in the notation of the listing above,
// close to what the kernel's verifier prints.
func (in insn) String() string {
	switch in.code {
	case opLoadWord:
		return fmt.Sprintf("r%d = *(u32 *)(r%d + %d)", in.dst, in.src, in.off)
	case opAnd:
		return fmt.Sprintf("r%d &= %#x", in.dst, in.imm)
	case opShift:
		return fmt.Sprintf("r%d >>= %d", in.dst, in.imm)
	case opMove:
		return fmt.Sprintf("r%d = %d", in.dst, in.imm)
	case opJumpNE:
		return fmt.Sprintf("if r%d != %d goto %+d", in.dst, in.imm, in.off)
	case opJumpSet:
		return fmt.Sprintf("if r%d & %#x goto %+d", in.dst, in.imm, in.off)
	case opExit:
		return "exit"
	}
	return fmt.Sprintf("code %#02x", in.code)
}

// bigEndian is set on machines that store the most significant byte of a
// number first (s390x); amd64 and arm64 store the least significant first.
var bigEndian = binary.NativeEndian.Uint16([]byte{0, 1}) == 1

// encode appends the instruction to b as 8 bytes in the layout of struct
// bpf_insn on this machine: code; the registers, "__u8 dst_reg:4, src_reg:4"
// in C, whose first bit field C compilers put in the low bits of the byte
// on little-endian machines and in the high bits on big-endian ones; off
// and imm in the machine's byte order.
func (in insn) encode(b []byte) []byte {
	regs := in.src<<4 | in.dst
	if bigEndian {
		regs = in.dst<<4 | in.src
	}
	b = append(b, in.code, regs)
	b = binary.NativeEndian.AppendUint16(b, uint16(in.off))
	return binary.NativeEndian.AppendUint32(b, uint32(in.imm))
}

// programName names the program in the kernel: bpftool prog list shows it.
const programName = "skiff_devices"

// programLicense is the license the program declares. The kernel reads it
// only to decide whether the program may call the helper functions it
// offers to GPL-compatible programs alone; this program calls no helper,
// so it loads under any license.
const programLicense = "Apache-2.0"

// verifierLogSize is the size of the buffer for the verifier's log when a
// load fails: enough for the log of a program of a few hundred
// instructions.
const verifierLogSize = 1 << 20

// loadDeviceProgram loads prog as a BPF_PROG_TYPE_CGROUP_DEVICE program
// and returns its file descriptor. When the verifier refuses it, the
// error carries the verifier's log.
//
// Loading needs CAP_SYS_ADMIN, or CAP_BPF and CAP_NET_ADMIN (Linux 5.8
// and later): root has them.
func loadDeviceProgram(prog []insn) (int, error) {
	fd, err := progLoad(prog, nil)
	if err == nil {
		return fd, nil
	}

	// Refused: load again with a buffer for the verifier's log, which
	// says why. Not on every load: a log slows loading down, and one too
	// long for its buffer fails the load with ENOSPC.
	verifierLog := make([]byte, verifierLogSize)
	if fd, err = progLoad(prog, verifierLog); err == nil {
		return fd, nil
	}
	if n := bytes.IndexByte(verifierLog, 0); n > 0 {
		return -1, fmt.Errorf("%w; verifier log:\n%s", err,
			strings.TrimSpace(string(verifierLog[:n])))
	}
	return -1, err
}

// progLoadAttr is the member of union bpf_attr that bpf(2) reads for
// BPF_PROG_LOAD, up to the fields skiff sets. The pointers are addresses
// in 64-bit fields, whatever the machine's word size.
type progLoadAttr struct {
	progType    uint32
	insnCount   uint32
	insns       uint64 // address of the encoded instructions
	license     uint64 // address of a NUL-terminated string
	logLevel    uint32 // 0: no log; 1: the verifier's reasons
	logSize     uint32
	logBuf      uint64 // address of the log's buffer
	kernVersion uint32 // unused by this program type
	progFlags   uint32
	progName    [unix.BPF_OBJ_NAME_LEN]byte
}

// progLoad calls bpf(BPF_PROG_LOAD) for prog, with the verifier's log in
// verifierLog if it is not empty.
func progLoad(prog []insn, verifierLog []byte) (int, error) {
	code := make([]byte, 0, 8*len(prog))
	for _, in := range prog {
		code = in.encode(code)
	}
	license := []byte(programLicense + "\x00")

	// The kernel reads the buffers at the addresses in attr: pin them, so
	// that Go's garbage collector neither moves nor frees them meanwhile.
	var pinner runtime.Pinner
	defer pinner.Unpin()
	attr := progLoadAttr{
		progType:  unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCount: uint32(len(prog)),
		insns:     address(&pinner, code),
		license:   address(&pinner, license),
	}
	copy(attr.progName[:], programName)
	if len(verifierLog) > 0 {
		attr.logLevel = 1
		attr.logSize = uint32(len(verifierLog))
		attr.logBuf = address(&pinner, verifierLog)
	}

	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return -1, os.NewSyscallError("bpf(BPF_PROG_LOAD)", err)
	}
	return fd, nil
}

// address pins the buffer b and returns its address.
func address[T any](pinner *runtime.Pinner, b []T) uint64 {
	pinner.Pin(&b[0])
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

// progAttachAttr is the member of union bpf_attr that bpf(2) reads for
// BPF_PROG_ATTACH.
type progAttachAttr struct {
	targetFD    uint32 // the group's directory
	attachBPFFD uint32 // the program
	attachType  uint32
	attachFlags uint32
}

// attachDeviceProgram attaches the loaded program progFD to the v2 group
// directory dir with bpf(BPF_PROG_ATTACH), as the device program of the
// group and of every group below it.
//
// No flags: a group below cannot attach a program of its own that would
// override this one (BPF_F_ALLOW_OVERRIDE), nor one that would run too
// (BPF_F_ALLOW_MULTI). Attaching again to the same group replaces its
// program.
func attachDeviceProgram(dir string, progFD int) error {
	group, err := openGroup(dir)
	if err != nil {
		return err
	}
	defer unix.Close(group)

	attr := progAttachAttr{
		targetFD:    uint32(group),
		attachBPFFD: uint32(progFD),
		attachType:  unix.BPF_CGROUP_DEVICE,
	}
	_, err = bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return &os.PathError{Op: "bpf(BPF_PROG_ATTACH)", Path: dir, Err: err}
	}
	return nil
}

// progQueryAttr is the member of union bpf_attr that bpf(2) reads for
// BPF_PROG_QUERY, and writes its answers into. It runs to the last field
// the kernel writes, revision, although skiff reads only progCount: the
// kernel writes into the caller's memory at those offsets, and a shorter
// struct would have newer kernels write past its end.
type progQueryAttr struct {
	targetFD    uint32 // the group's directory
	attachType  uint32
	queryFlags  uint32 // 0: the group's own programs, not inherited ones
	attachFlags uint32 // out: the flags they were attached with
	progIDs     uint64 // address of an array for the programs' IDs
	progCount   uint32 // in: the array's length; out: the programs' count
	_           uint32
	// Out, and unused here: each program's attach flags, the programs'
	// BPF links, and a count of the group's attach and detach changes.
	progAttachFlags uint64
	linkIDs         uint64
	linkAttachFlags uint64
	revision        uint64
}

// maxPrograms is the most programs of one attach type a group can hold,
// the kernel's BPF_CGROUP_MAX_PROGS, reached only with BPF_F_ALLOW_MULTI.
const maxPrograms = 64

// attachedPrograms returns the IDs of the device programs attached to the
// v2 group directory dir itself, with bpf(BPF_PROG_QUERY); the programs of
// the groups above it, which run for its processes too, are not listed.
// `bpftool cgroup show DIR` asks the same question.
//
// Like loading, querying needs root (CAP_NET_ADMIN).
func attachedPrograms(dir string) ([]uint32, error) {
	group, err := openGroup(dir)
	if err != nil {
		return nil, err
	}
	defer unix.Close(group)

	// The kernel writes the IDs into ids: pin it, as progLoad does.
	ids := make([]uint32, maxPrograms)
	var pinner runtime.Pinner
	defer pinner.Unpin()
	attr := progQueryAttr{
		targetFD:   uint32(group),
		attachType: unix.BPF_CGROUP_DEVICE,
		progIDs:    address(&pinner, ids),
		progCount:  uint32(len(ids)),
	}
	_, err = bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return nil, &os.PathError{Op: "bpf(BPF_PROG_QUERY)", Path: dir, Err: err}
	}
	return ids[:attr.progCount], nil
}

// openGroup opens the v2 group directory dir, for bpf(2) to name the
// group by the descriptor.
func openGroup(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return fd, nil
}

// bpf calls bpf(2) with command cmd and attr, its member of union
// bpf_attr, of size bytes.
func bpf(cmd uintptr, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, cmd, uintptr(attr), size)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}
