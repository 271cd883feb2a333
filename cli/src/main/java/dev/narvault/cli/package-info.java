/**
 * The {@code narvault} executable: one picocli command with a subcommand per role. Start with
 * {@link dev.narvault.cli.Narvault}.
 */
package dev.narvault.cli;
