/**
 * A UTF-16 surrogate without its pair: JSON's `\ud800` escape makes one, and UTF-8 cannot carry it
 * (SQLite stored its bytes as they were, which every reader then saw as three U+FFFD).
 */
export const LONE_SURROGATE = /([\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])/;
