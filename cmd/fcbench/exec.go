package main

import (
	"os"
	"os/exec"
)

func execCommand(path string, env ...string) *exec.Cmd {
	cmd := exec.Command(path)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}
