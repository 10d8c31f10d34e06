/** Budgets, covers, Patungan lagi and chat (issue 13): strings in Bahasa Indonesia (the default). `{name}` marks a parameter. */
export const messages = {};

export type GroupKey = keyof typeof messages;
export default messages;
