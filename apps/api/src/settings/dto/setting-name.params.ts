import { Matches } from 'class-validator';
import { SETTING_NAME_PATTERN, SETTING_NAME_RULE } from '../setting-name';

export class SettingNameParams {
  @Matches(SETTING_NAME_PATTERN, { message: `name ${SETTING_NAME_RULE}` })
  name!: string;
}
