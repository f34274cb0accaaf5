package scriptstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVagrantfileSyntax checks that Ruby can parse the Vagrantfile, as
// Vagrant must before it does anything else.
func TestVagrantfileSyntax(t *testing.T) {
	requireRuby(t)
	out, err := exec.Command("ruby", "-c", "../../Vagrantfile").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "Syntax OK" {
		t.Errorf("ruby -c Vagrantfile: %v\n%s", err, out)
	}
}

// vagrantStub stands in for Vagrant: it runs the Vagrantfile given as its
// argument and prints, one a line, each setting the Vagrantfile makes and
// each method it calls, with its arguments, such as
//
//	config.vm.box = "debian/bookworm64"
//	config.vm.provider("libvirt")
//	config.vm.provider("libvirt").memory = 2048
const vagrantStub = `
class Recorder
  def initialize(name)
    @name = name
  end

  def method_missing(method, *args, **options, &block)
    name = "#{@name}.#{method.to_s.delete_suffix("=")}"
    if method.end_with?("=")
      puts "#{name} = #{args[0].inspect}"
      return
    end
    return Recorder.new(name) if args.empty? && options.empty? && block.nil?

    arguments = args.map(&:inspect) + options.map { |k, v| "#{k}: #{v.inspect}" }
    puts "#{name}(#{arguments.join(", ")})"
    block&.call(Recorder.new("#{name}(#{args.map(&:inspect).join(", ")})"))
  end

  def respond_to_missing?(*)
    true
  end
end

module Vagrant
  def self.configure(version)
    yield Recorder.new("config")
  end
end

load ARGV[0]
`

// TestVagrantfileSettings runs the Vagrantfile with a stand-in for Vagrant
// and checks the settings the course's VM depends on: the Debian 12 box,
// 2 CPUs and 2 GiB under both providers, the checkout synced into the VM,
// and scripts/provision.sh as the provisioner.
func TestVagrantfileSettings(t *testing.T) {
	requireRuby(t)
	stub := filepath.Join(t.TempDir(), "vagrant_stub.rb")
	if err := os.WriteFile(stub, []byte(vagrantStub), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ruby", stub, "../../Vagrantfile").CombinedOutput()
	if err != nil {
		t.Fatalf("ruby vagrant_stub.rb Vagrantfile: %v\n%s", err, out)
	}
	settings := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Logf("the Vagrantfile's settings:\n%s", out)

	for _, want := range []string{
		`config.vm.box = "debian/bookworm64"`,
		`config.vm.provider("virtualbox").cpus = 2`,
		`config.vm.provider("virtualbox").memory = 2048`,
		`config.vm.provider("libvirt").cpus = 2`,
		`config.vm.provider("libvirt").memory = 2048`,
		`config.vm.synced_folder(".", "/home/vagrant/skiff", type: "rsync", `,
		`config.vm.provision("shell", path: "scripts/provision.sh", `,
	} {
		if !hasLinePrefix(settings, want) {
			t.Errorf("the Vagrantfile has no setting %s", want)
		}
	}
}

// TestVagrantValidate has Vagrant itself check the Vagrantfile, where
// Debian's vagrant package is installed. Without VirtualBox or libvirt on
// the test machine, the providers' settings are left out of the check.
func TestVagrantValidate(t *testing.T) {
	if _, err := exec.LookPath("vagrant"); err != nil {
		t.Skip("vagrant is not installed (Debian's vagrant package); " +
			"TestVagrantfileSyntax and TestVagrantfileSettings check the Vagrantfile without it")
	}
	cmd := exec.Command("vagrant", "validate", "--ignore-provider")
	cmd.Dir = "../.."
	// Vagrant's state goes to temporary directories, not the checkout or
	// $HOME, and it does not ask the network for a newer Vagrant.
	cmd.Env = append(os.Environ(),
		"VAGRANT_HOME="+t.TempDir(),
		"VAGRANT_DOTFILE_PATH="+filepath.Join(t.TempDir(), "dotfile"),
		"VAGRANT_CHECKPOINT_DISABLE=1",
	)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Vagrantfile validated successfully.") {
		t.Errorf("vagrant validate --ignore-provider: %v\n%s", err, out)
	}
}

// requireRuby skips the test where Ruby, which reads the Vagrantfile, is
// missing.
func requireRuby(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ruby"); err != nil {
		t.Skip("ruby is not installed: scripts/lib.sh lists it, test.sh installs it")
	}
}

// hasLinePrefix reports whether one of lines starts with prefix.
func hasLinePrefix(lines []string, prefix string) bool {
	for _, line := range lines {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}
