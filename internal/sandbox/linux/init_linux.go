package linux

import (
	_ "embed" // the init binary
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The init is a small static C program (initc/init.c), built with the
// machine's gcc and committed, so that building openfc needs no C toolchain.
// go generate rebuilds it and records the source's checksum, which a test
// compares with the source, so a forgotten rebuild fails CI.
//
//go:generate sh -c "gcc -static -Os -s -ffunction-sections -fdata-sections -Wl,--gc-sections -Wall -Wextra -Werror -o initc/init.bin initc/init.c && sha256sum initc/init.c | cut -d' ' -f1 > initc/init.c.sha256"

//go:embed initc/init.bin
var initBinary []byte

// initMemfd copies the init into a sealed memfd, so that it runs from
// memory: no file to leave behind or to find on a noexec mount.
func initMemfd() (*os.File, error) {
	fd, err := unix.MemfdCreate("openfc-sandbox-init", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd for init: %w", err)
	}
	f := os.NewFile(uintptr(fd), "openfc-sandbox-init")
	if _, err := f.Write(initBinary); err != nil {
		f.Close()
		return nil, fmt.Errorf("write init: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal init: %w", err)
	}
	// The init is exec'd as /proc/self/fd/N in the child, after the child's
	// ExtraFiles were placed on fds 3, 4, 5...: a memfd on one of those
	// numbers would be replaced by another file before the exec (EACCES, or
	// worse). A number above any ExtraFiles keeps it.
	high, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, minInitFd)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("move init fd: %w", err)
	}
	return os.NewFile(uintptr(high), "openfc-sandbox-init"), nil
}

// minInitFd is the lowest fd the init's memfd may have: far above the
// few files an init gets (ExtraFiles).
const minInitFd = 100
