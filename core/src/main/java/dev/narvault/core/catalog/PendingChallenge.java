package dev.narvault.core.catalog;

/** A prepared audit challenge for a fragment, with the answer an honest holder gives. */
public record PendingChallenge(String challengeId, String fragmentId, String challengeJson, String expectedAnswer) {}
