/**
 * What `roster --help` prints. The lines under "commands:" are the README's CLI table,
 * one per entry of COMMANDS (test/unit/docs-drift.test.ts keeps the three in step).
 */
export const USAGE = `usage: roster <command> [options]
       npm run --silent roster -- <command> [options]      (in a source checkout)

commands:
  org create <slug> [--name "Display name"]
  org list [--json]
  token create --org <slug> [--system-role R] [--org-role R] [--name L] [--expires-in-days N]
  token list --org <slug> [--json]
  token revoke <id>
  settings get [--json]
  settings set <key> <value>      keys: tqlQueryTimeout, twoFactorAuthenticationRequired,
                                  termsOfServiceRequireNewUserToAccept, deploymentType (cloud|dedicated|onprem),
                                  passwordPolicy.minLength|maxLength|requireUppercase|requireLowercase|requireDigit|requireSymbol
  org limits <slug> [--standard N] [--api N] [--taxii N] [--read-only N|free] [--api-users on|off]
                                  (N: a whole number, or "unlimited")
  org show <slug> [--json]
  users export --org <slug> [--format csv|json]
  audit --org <slug> [--since ISO-8601] [--json]
  key rotate [--retire-after-days N]
  key list [--json]
  events --org <slug> [--since ISO-8601] [--limit N] [--json]
  receiver add --org <slug> --url <url> [--audience <aud>] [--events <uri,...>] [--full]
  receiver list --org <slug> [--json]
  receiver remove <id>
  requests show <id> [--org <slug>] [--json]
  requests (--org <slug> | --unauthenticated) [--since ISO-8601] [--status 403|4xx|5xx] [--client okta|entra|other] [--limit N] [--json]
  admin create <email> [--org <slug>] [--system-role R] [--org-role R]
                                  (reads the password from stdin; without --org: an instance administrator)
  admin list [--json]
  admin disable <email>
  migrate
  group-roles set --org <slug> --group "<displayName>" [--org-role R] [--system-role R]
  group-roles list --org <slug> [--json]
  group-roles remove --org <slug> --group "<displayName>"

roster --help (or -h, or help) prints this text.
The database is DATABASE_URL (or DATABASE_URL_FILE) when set, else the embedded one in
ROSTER_DATA_DIR (./data).`;

/** The arguments that ask for the usage text (on stdout, exit 0). */
export function asksForHelp(argv: readonly string[]): boolean {
  return argv.length === 1 && ['--help', '-h', 'help'].includes(argv[0]);
}
