/** What the settings API accepts as a setting name (`debug`, `allow_audio_output`, `task_operator`…). */
export const SETTING_NAME_PATTERN = /^[a-z0-9_]{1,64}$/;

/** The rule above in words, for 400 answers. */
export const SETTING_NAME_RULE = 'must be 1-64 lowercase letters, digits or underscores';
