// Package scriptstest tests the files that turn a machine into a skiff lab:
// scripts/provision.sh, which installs everything the course needs, and the
// Vagrantfile, which describes the course's virtual machine and runs
// provision.sh in it. The package has no code of its own; its tests run the
// scripts as a learner's machine does and check what a learner would see.
//
// # Limitations
//
// No test boots the virtual machine: that needs VirtualBox or libvirt, the
// box downloaded from Vagrant's catalog, and minutes. The tests check the
// Vagrantfile's syntax and settings instead, and run provision.sh on the
// machine they run on, which for CI is a Debian 12 machine like the VM.
package scriptstest
