// SPDX-License-Identifier: MIT
/*
 * main - the dkimq binary: picks the subcommand and hands it argv.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/log.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *what;
} commands[] = {
	{ "sign", cmd_sign, "sign a message (DKIM and/or DomainKeys)" },
	{ "verify", cmd_verify, "verify a message's signatures" },
	{ "keygen", cmd_keygen, "make a key and print its DNS record" },
	{ "dns-record", cmd_dns_record, "print the DNS record of a key" },
	{ "check-config", cmd_check_config, "check a configuration file" },
	{ "run", cmd_run, "the spool sidecar: sign and verify queued mail" },
	{ "batch", cmd_batch, "sign or verify an mbox, Maildir or directory" },
	{ "dns-test", cmd_dns_test, "check a key's DNS record against it" },
};

/* usage - the list of commands */
static int
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: dkimq COMMAND [OPTIONS] [FILE]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		fprintf(fp, "  %-13s %s\n", commands[i].name, commands[i].what);
	}
	fprintf(fp, "\ndkimq COMMAND --help shows the options of each.\n");
	return status;
}

int
main(int argc, char **argv)
{
	log_init("dkimq", false);
	if (argc < 2) {
		return usage(stderr, EXIT_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		return usage(stdout, 0);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "dkimq: unknown command \"%s\"\n", argv[1]);
	return usage(stderr, EXIT_USAGE);
}
