#include "fake_vm.h"

#include "vmm_config.h"

#include <stdio.h>

bool fake_vm_spawn_running(const char *fake, const char *dir, struct vmm_client *vc)
{
	return fake_vm_spawn_running_cmdline(fake, dir, "console=ttyS0", vc);
}

bool fake_vm_spawn_running_cmdline(const char *fake, const char *dir, const char *cmdline,
				   struct vmm_client *vc)
{
	char cfgpath[300], console[300], sock[300], exitf[300];
	struct vmm_config cfg = { .kernel = "/nonexistent/Image", .cmdline = (char *)cmdline,
				  .vcpus = 1, .memory_mib = 64 };
	struct vmm_spawn sp = { .binary = fake, .config_path = cfgpath, .log_fd = -1,
				.control_socket = sock, .exit_file = exitf };
	struct vmm_event ev;
	struct vmm_error err;

	snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", dir);
	snprintf(console, sizeof(console), "%s/console.log", dir);
	snprintf(sock, sizeof(sock), "%s/control.sock", dir);
	snprintf(exitf, sizeof(exitf), "%s/exit.json", dir);
	cfg.console = console;
	cfg.cmdline = (char *)cmdline;
	if (vmm_config_save(&cfg, cfgpath, &err) < 0 || vmm_client_spawn(vc, &sp, &err) < 0)
		return false;
	if (vmm_client_recv(vc, 5000, &ev, &err) < 0)
		return false;
	vmm_event_clear(&ev);
	if (vmm_client_request(vc, VMM_OP_START, 5000, &ev, &err) < 0)
		return false;
	vmm_event_clear(&ev);
	vmm_client_close(vc);
	return true;
}
