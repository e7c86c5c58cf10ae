/*
 * main: the command line. `postpace COMMAND [flags]`; -h, --help and
 * --version anywhere before "--". Exit status: 0 success, 1 failure at run
 * time, 2 bad usage or a bad setting (deploy/postpace.service does not
 * restart on 2).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "daemon.h"
#include "deliveries.h"
#include "db/db.h"
#include "db/migrate.h"
#include "import/import.h"
#include "plan/commands.h"
#include "status.h"
#include "util/log.h"

struct command {
    const char *name;
    int (*run)(struct config *cfg, int argc, char **argv);
    const char *usage;
    int own_flags; /* takes flags of its own: cfg_load passes unknown flags to it */
};

static int cmd_help(struct config *cfg, int argc, char **argv);

static int usage_error(const char *msg)
{
    fprintf(stderr, "postpace: %s (see `postpace help`)\n", msg);
    return 2;
}

/* Rejects leftover positional arguments of commands that take none. */
static int no_args(const char *cmd, int argc, char **argv)
{
    if (argc == 0)
        return 0;
    char msg[256];
    snprintf(msg, sizeof msg, "%s: unexpected argument \"%s\"", cmd, argv[0]);
    return usage_error(msg);
}

static int cmd_version(struct config *cfg, int argc, char **argv)
{
    if (no_args("version", argc, argv))
        return 2;
    printf("postpace %s\n", POSTPACE_VERSION);
    return 0;
}

static void print_applied(const struct mig_file *m)
{
    log_info("migration applied", LOG_STR("version", m->version), LOG_STR("name", m->name));
}

static int cmd_migrate(struct config *cfg, int argc, char **argv)
{
    if (no_args("migrate", argc, argv))
        return 2;
    PGconn *c = db_connect_logged(cfg->database_url);
    if (!c)
        return 1;
    char err[512];
    size_t n;
    const struct mig_file *files = mig_builtin(&n);
    int applied = mig_apply(c, files, n, print_applied, err, sizeof err);
    PQfinish(c);
    if (applied < 0) {
        log_error("migrate failed", LOG_STR("reason", err));
        return 1;
    }
    log_info("schema is current", LOG_INT("applied", applied), LOG_UINT("known", n));
    return 0;
}

static int cmd_serve(struct config *cfg, int argc, char **argv)
{
    if (no_args("serve", argc, argv))
        return 2;
    return daemon_serve(cfg);
}

static int cmd_pause_keys(struct config *cfg, int argc, char **argv)
{
    return cmd_pause(1, cfg->database_url, argc, argv);
}

static int cmd_resume_keys(struct config *cfg, int argc, char **argv)
{
    return cmd_pause(0, cfg->database_url, argc, argv);
}

static int cmd_deliveries_(struct config *cfg, int argc, char **argv)
{
    return cmd_deliveries(cfg->database_url, argc, argv);
}

static int cmd_subscriptions_(struct config *cfg, int argc, char **argv)
{
    return cmd_subscriptions(cfg->database_url, argc, argv);
}

static int cmd_subscribe_(struct config *cfg, int argc, char **argv)
{
    return cmd_subscribe(cfg->database_url, argc, argv);
}

static int cmd_unsubscribe_(struct config *cfg, int argc, char **argv)
{
    return cmd_unsubscribe(cfg->database_url, argc, argv);
}

static int cmd_retry_targets(struct config *cfg, int argc, char **argv)
{
    return cmd_targets(CTL_RETRY, cfg->database_url, argc, argv);
}

static int cmd_cancel_targets(struct config *cfg, int argc, char **argv)
{
    return cmd_targets(CTL_CANCEL, cfg->database_url, argc, argv);
}

static const struct command commands[] = {
    {"serve", cmd_serve, "run the daemon in the foreground (HTTP server and scheduler)", 0},
    {"migrate", cmd_migrate, "apply the database migrations this binary carries", 0},
    {"version", cmd_version, "print the version", 0},
    {"help", cmd_help, "show this help", 0},
    {"status", cmd_status, "the backlog, leases, lag, ETA and binding window of every key [--json]", 1},
    {"limits", cmd_limits, "each key's windows, usage, next free slot [--provider P] [--key K]", 1},
    {"pause", cmd_pause_keys,
     "--key ID|LABEL | --provider P | --all: claim nothing for these keys until resumed", 1},
    {"resume", cmd_resume_keys, "--key ID|LABEL | --provider P | --all: resume paused keys", 1},
    {"subscribe", cmd_subscribe_,
     "--url URL --secret-ref env:NAME|file:/path [--events T,T] [--provider P] [--key K]: "
     "send status events to the application",
     1},
    {"subscriptions", cmd_subscriptions_, "the outgoing webhook subscriptions [--json]", 1},
    {"unsubscribe", cmd_unsubscribe_, "--id N: remove a subscription and its deliveries", 1},
    {"deliveries", cmd_deliveries_,
     "[--state pending|delivered|dead] [--subscription N] [--post N] [--limit N] [--json]; "
     "deliveries replay --id N | --dead [--subscription N]",
     1},
    {"retry", cmd_retry_targets,
     "--target N | --post N | --key K --provider P --error CODE --since T --until T [--dry-run] "
     "[--force] [--json]: send failed targets once more, unless that could post twice",
     1},
    {"cancel", cmd_cancel_targets,
     "--target N | --post N | --key K --provider P --error CODE --since T --until T [--dry-run] "
     "[--json]: cancel scheduled targets",
     1},
    {"plan", cmd_plan, "when each pending post will leave, and why [--from T] [--to T] [--json]", 1},
    {"import", cmd_import,
     "FILE|- [--format csv|jsonl] [--partial] [--dry-run] [--allow-unterminated]: add posts from a "
     "CSV or JSON Lines file",
     1},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *f)
{
    fprintf(f, "usage: postpace COMMAND [flags]\n\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].usage);
    fprintf(f, "\n");
    cfg_print_help(f);
}

static int cmd_help(struct config *cfg, int argc, char **argv)
{
    print_usage(stdout);
    return 0;
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* The index of the first of `names` among the arguments before "--", or 0. */
static int find_flag(int argc, char **argv, const char *const *names)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        for (const char *const *n = names; *n; n++)
            if (strcmp(argv[i], *n) == 0)
                return i;
    return 0;
}

static void print_command_help(const struct command *cmd)
{
    printf("usage: postpace %s [flags]\n  %s\n\n", cmd->name, cmd->usage);
    cfg_print_help(stdout);
}

/*
 * -h, --help and --version anywhere before "--" win over everything else:
 * `postpace import --help` helps with import, `postpace serve -h` does not
 * start a daemon. Returns the exit status, or -1 when there is none.
 */
static int help_or_version(int argc, char **argv)
{
    static const char *const help[] = {"-h", "--help", NULL}, *const version[] = {"--version", NULL};
    if (find_flag(argc, argv, version)) {
        printf("postpace %s\n", POSTPACE_VERSION);
        return 0;
    }
    if (!find_flag(argc, argv, help))
        return -1;
    const struct command *cmd = argc > 1 ? find_command(argv[1]) : NULL;
    if (cmd && cmd->run != cmd_help)
        print_command_help(cmd);
    else
        print_usage(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int early = help_or_version(argc, argv);
    if (early >= 0)
        return early;
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const struct command *cmd = find_command(argv[1]);
    if (!cmd) {
        char msg[256];
        snprintf(msg, sizeof msg, "unknown command \"%s\"", argv[1]);
        return usage_error(msg);
    }
    struct config cfg;
    cfg_init(&cfg);
    char err[512];
    char **rest = calloc((size_t)argc, sizeof *rest);
    int nrest = 0, rc;
    if (cfg_load(&cfg, argc - 2, argv + 2, rest, &nrest, cmd->own_flags, err, sizeof err) != 0) {
        rc = usage_error(err);
    } else {
        enum log_level lv = LOG_INFO;
        log_level_parse(cfg.log_level, &lv);
        log_set_level(lv);
        db_use_prepared(cfg.prepared_statements);
        rc = cmd->run(&cfg, nrest, rest);
    }
    free(rest);
    cfg_finish(&cfg);
    return rc;
}
